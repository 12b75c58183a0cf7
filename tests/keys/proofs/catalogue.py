"""Devices with sealed keys for the proof service tests, and telegrams that fit them."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

from meterkms.devices.enums import KeySlot
from meterkms.devices.models import Device, DeviceKey, KeyState
from meterkms.keys.proofs.encode import encrypt_mode5, encrypt_mode7, set_security
from meterkms.organisations.models import Organisation
from meterkms.vault.algorithms import Algorithm
from meterkms.vault.kcv import key_check_value_hex
from meterkms.vault.keymaterial import KeyFingerprinter
from meterkms.vault.runtime import get_vault
from tests.support.catalogue import make_device, shared_type
from tests.support.leaks import remember

from .vectors import AQUASTREAM_PLAIN, TOPAS_PLAIN

ALGORITHMS = {16: Algorithm.AES128, 8: Algorithm.DES, 24: Algorithm.TDES}


def add_key(
    device: Device,
    slot: KeySlot | str,
    key: bytes,
    *,
    version: int = 1,
    state: str = KeyState.ACTIVE.value,
) -> DeviceKey:
    """Store ``key`` for ``device`` sealed by the vault, as an import would."""
    remember([key])
    slot = KeySlot(slot)
    scope = f"org:{device.manufacturer_id}"
    vault = get_vault()
    vault.prepare(scope, 1)
    sealed = vault.seal(key, scope=scope, record=str(device.pk), slot=slot.value, version=version)
    algorithm = ALGORITHMS[len(key)] if slot is KeySlot.DES else Algorithm.AES128
    fingerprint = KeyFingerprinter(settings.FINGERPRINT_SECRET).fingerprint(key)[:32]
    return DeviceKey._base_manager.create(
        device=device,
        slot=slot.value,
        algorithm=algorithm.value,
        version=version,
        state=state,
        sealed=sealed,
        kcv=key_check_value_hex(key, algorithm),
        fingerprint=fingerprint,
    )


def wmbus_device(
    owner: Organisation,
    serial: str,
    manufacturer: str,
    address: str,
    key: bytes | None = None,
    *,
    slot: KeySlot = KeySlot.OMS,
    **fields: Any,
) -> Device:
    """A wM-Bus meter of ``owner`` with one live key (when given)."""
    if "device_type" not in fields:  # looked up only when needed: flushes drop shared types
        fields["device_type"] = shared_type("Aquastream WM-Bus")
    fields.setdefault("manufacturer", owner)
    device = Device._base_manager.create(
        owner=owner, serial=serial, wmbus_manufacturer=manufacturer, meter_address=address, **fields
    )
    if key is not None:
        add_key(device, slot, key)
    return device


def lorawan_device(owner: Organisation, serial: str, dev_eui: str, key: bytes | None) -> Device:
    """A LoRaWAN device of ``owner`` with its AppKey (when given)."""
    device = make_device(owner, serial, dev_eui=dev_eui, join_eui="70B3D5E75E000000")
    if key is not None:
        add_key(device, KeySlot.LORAWAN_APPKEY, key)
    return device


def random_key(length: int = 16) -> bytes:
    """A fresh key, registered so that any response carrying it fails its test."""
    key = os.urandom(length)
    remember([key])
    return key


def topas_plain(address: str, access: int = 0x31) -> bytes:
    """The TOPAS ES KR plaintext telegram (M = AMT) of meter ``address`` (8 digits)."""
    plain = bytes.fromhex(TOPAS_PLAIN)
    ident = bytes.fromhex(address)[::-1]
    return plain[:4] + ident + plain[8:11] + bytes((access,)) + plain[12:]


def topas_mode5(address: str, key: bytes, access: int = 0x31) -> bytes:
    """A TOPAS telegram of meter ``address`` encrypted in mode 5 under ``key``."""
    return encrypt_mode5(topas_plain(address, access), key)


def topas_mode7(address: str, key: bytes, counter: int = 7) -> bytes:
    """A TOPAS telegram of meter ``address`` in mode 7 with an AFL MAC under ``key``."""
    plain = set_security(topas_plain(address), mode=7, blocks=4)
    return encrypt_mode7(plain, key, counter=counter)


def aquastream_plain() -> bytes:
    """The aquastream plaintext: meter IMT 05933237 behind module IMT 10049257 (long TPL)."""
    return bytes.fromhex(AQUASTREAM_PLAIN)
