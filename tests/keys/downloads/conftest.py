"""Devices with sealed keys for the download tests, and clients that may download keys."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings

from meterkms.accounts import mfa, reauth
from meterkms.devices.enums import ClaimStatus, KeySlot
from meterkms.devices.models import Device, DeviceKey, KeyState
from meterkms.organisations.models import Organisation
from meterkms.vault.algorithms import Algorithm
from meterkms.vault.kcv import key_check_value_hex
from meterkms.vault.keymaterial import KeyFingerprinter
from meterkms.vault.runtime import get_vault
from tests.support.catalogue import make_device, shared_type
from tests.support.clients import HttpsClient
from tests.support.leaks import remember
from tests.support.mfa import enrol, next_code
from tests.support.personas import PASSWORD

KEY_LENGTHS = {Algorithm.AES128: 16, Algorithm.AES192: 24, Algorithm.AES256: 32}


@dataclass
class Keyed:
    """A device and its keys in clear (slot → bytes), for comparing with what comes out."""

    device: Device
    keys: dict[KeySlot, bytes] = field(default_factory=dict)


def add_key(
    device: Device,
    slot: KeySlot,
    *,
    algorithm: Algorithm = Algorithm.AES128,
    state: str = KeyState.ACTIVE,
    version: int = 1,
    key: bytes | None = None,
) -> bytes:
    """Seal a random key into ``device``'s slot, as the import does; returns the key."""
    value = key if key is not None else os.urandom(KEY_LENGTHS[algorithm])
    remember([value])
    scope = f"org:{device.manufacturer_id}"
    vault = get_vault()
    vault.prepare(scope, 1)
    sealed = vault.seal(value, scope=scope, record=str(device.pk), slot=slot.value, version=version)
    DeviceKey._base_manager.create(
        device=device,
        slot=slot.value,
        algorithm=algorithm.value,
        version=version,
        state=state,
        sealed=sealed,
        kcv=key_check_value_hex(value, algorithm),
        fingerprint=KeyFingerprinter(settings.FINGERPRINT_SECRET).fingerprint(value)[:32],
    )
    return value


def lora_device(
    owner: Organisation,
    serial: str,
    *,
    status: ClaimStatus = ClaimStatus.CLAIMED,
    version: str = "1.0.4",
    nwk_key: bool = False,
    **fields: Any,
) -> Keyed:
    """A LoRaWAN device with an AppKey (and a NwkKey for 1.1), claimed by its owner."""
    number = zlib.crc32(serial.encode()) % 16**6
    fields.setdefault("dev_eui", f"70B3D5E75E{number:06X}")
    fields.setdefault("join_eui", "70B3D5E75E000000")
    if "device_type" not in fields:
        fields["device_type"] = shared_type("TOPAS Lora W8")
    fields.setdefault("manufacturer", owner)
    # Not make_device: it looks the manual's type up even when one is given, and flushes
    # between transactional tests on PostgreSQL remove those types.
    device = Device._base_manager.create(
        owner=owner,
        serial=serial,
        claim_status=status.value,
        lorawan_version=version,
        **fields,
    )
    keyed = Keyed(device)
    keyed.keys[KeySlot.LORAWAN_APPKEY] = add_key(device, KeySlot.LORAWAN_APPKEY)
    if nwk_key:
        keyed.keys[KeySlot.LORAWAN_NWKKEY] = add_key(device, KeySlot.LORAWAN_NWKKEY)
    return keyed


def wmbus_device(
    owner: Organisation,
    serial: str,
    *,
    status: ClaimStatus = ClaimStatus.CLAIMED,
    address: str = "12345678",
    **fields: Any,
) -> Keyed:
    """A wM-Bus meter with an OMS key, claimed by its owner."""
    device = make_device(
        owner,
        serial,
        device_type=shared_type("CalecST III WM-Bus"),
        claim_status=status.value,
        wmbus_manufacturer="AMT",
        meter_address=address,
        wmbus_version=1,
        medium=7,
        **fields,
    )
    keyed = Keyed(device)
    keyed.keys[KeySlot.OMS] = add_key(device, KeySlot.OMS)
    return keyed


def fresh_client(user: Any) -> HttpsClient:
    """A logged-in client whose user has just entered the password and a code of the second
    factor (re-authentication); a key-download role gets its authenticator app set up first."""
    if mfa.required_for(user) and not mfa.is_enabled(user):
        enrol(user)
    client = HttpsClient()
    client.force_login(user, backend="meterkms.accounts.backends.EmailBackend")
    answer = {"password": PASSWORD}
    if mfa.is_enabled(user):
        answer["code"] = next_code(user)
    response = client.post("/reauth/", answer)
    assert response.status_code == 302, response.status_code
    return client


@pytest.fixture
def fresh() -> Callable[[Any], HttpsClient]:
    """``fresh(user)``: a client logged in and freshly re-authenticated as ``user``."""
    return fresh_client


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """``clock(seconds)`` moves the re-authentication clock forward."""
    offset = [0.0]
    real = reauth.clock

    def now() -> float:
        return real() + offset[0]

    monkeypatch.setattr(reauth, "clock", now)

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance
