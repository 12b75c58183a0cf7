"""Every format × protection through the real download service and back: keys byte-for-byte.

Devices with known keys are sealed into the catalogue, downloaded by the service, opened and
verified with ``open_export`` (as ``meterkms export open`` does), and read back with the
project's own importers (ChirpStack, which has no importer, as JSON). What went in must come
out: the same keys for the same serials and slots, the manifest listing each key's check
value, and the payload's SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest

from meterkms.core import tenancy
from meterkms.devices.enums import KeySlot
from meterkms.devices.importers.dispatch import parse
from meterkms.devices.importers.records import DeviceRecord
from meterkms.keys import downloads
from meterkms.keys.downloads import DownloadOptions, Secret, Selection
from meterkms.keys.exports.protection import Protection, generate_recipient_keypair, open_export
from meterkms.vault.algorithms import Algorithm
from meterkms.vault.kcv import key_check_value_hex
from tests.keys.downloads.conftest import Keyed, add_key, lora_device, wmbus_device
from tests.support.catalogue import shared_type
from tests.support.personas import World

pytestmark = pytest.mark.django_db

PASSWORD = "RoundTrip-Pass16"  # 16 bytes: fits every compatible method
FORMATS = ("csv", "xlsx", "json", "tts-csv", "tts-json", "chirpstack", "keylist", "wmbusmeters")
IMPORT_FORMAT = {"tts-csv": "tts-csv", "tts-json": "tts-json", "keylist": "keylist"}
RECIPIENT = generate_recipient_keypair(2048)


def _mixed(world: World) -> list[Keyed]:
    """LoRaWAN 1.0.4 and 1.1, an OMS meter, an M-Bus meter with AES-256, a 3DES meter."""
    mbus = wmbus_device(world.org_a, "MB-2", address="20010056")
    mbus.device.device_type = shared_type("TOPAS Mbus")
    mbus.device.save(update_fields=["device_type"])
    mbus.keys[KeySlot.MBUS] = add_key(mbus.device, KeySlot.MBUS, algorithm=Algorithm.AES256)
    des = wmbus_device(world.org_a, "DES-1", address="00000042")
    des.keys[KeySlot.DES] = add_key(
        des.device, KeySlot.DES, algorithm=Algorithm.TDES, key=bytes(range(1, 25))
    )
    return [
        lora_device(world.org_a, "L-1004"),
        lora_device(world.org_a, "L-1100", version="1.1", nwk_key=True),
        wmbus_device(world.org_a, "W-0001", address="00000001"),
        mbus,
        des,
    ]


def _devices_for(format_name: str, world: World) -> list[Keyed]:
    if format_name in ("csv", "xlsx", "json"):
        return _mixed(world)
    if format_name in ("tts-csv", "tts-json", "chirpstack"):
        return [
            lora_device(world.org_a, "L-1004"),
            lora_device(world.org_a, "L-1100", version="1.1", nwk_key=True),
        ]
    return [
        wmbus_device(world.org_a, "W-0001", address="00000001"),
        wmbus_device(world.org_a, "W-0002", address="00000002"),
    ]


def _secret(protection: Protection) -> Secret:
    if protection == Protection.RECIPIENT:
        return Secret(recipient_public_key=RECIPIENT.public_pem)
    if protection == Protection.NONE:
        return Secret()
    return Secret(password=PASSWORD)


def _keys_from_records(records: list[Any]) -> dict[tuple[str, KeySlot], bytes]:
    found: dict[tuple[str, KeySlot], bytes] = {}
    for record in records:
        assert isinstance(record, DeviceRecord), record
        for slot, key in record.keys.items():
            found[(str(record.serial), slot)] = bytes.fromhex(key.hex)
    return found


def _keys_in(format_name: str, payload: bytes, serial_of_eui: dict[str, str]) -> dict:
    """The keys a payload carries, read back as its recipient's software would."""
    if format_name == "chirpstack":
        found = {}
        for entry in json.loads(payload):
            serial = serial_of_eui[entry["device"]["dev_eui"]]
            keys = entry["device_keys"]
            if entry["kcv"].keys() == {"AppKey"}:  # LoRaWAN 1.0.x: the AppKey is in nwk_key
                found[(serial, KeySlot.LORAWAN_APPKEY)] = bytes.fromhex(keys["nwk_key"])
            else:
                found[(serial, KeySlot.LORAWAN_APPKEY)] = bytes.fromhex(keys["app_key"])
                found[(serial, KeySlot.LORAWAN_NWKKEY)] = bytes.fromhex(keys["nwk_key"])
        return found
    name = {"xlsx": "keys.xlsx", "wmbusmeters": "meters.txt"}.get(format_name, "keys.csv")
    items = list(parse(io.BytesIO(payload), format=IMPORT_FORMAT.get(format_name), filename=name))
    return _keys_from_records(items)


@pytest.mark.parametrize("protection", list(Protection), ids=str)
@pytest.mark.parametrize("format_name", FORMATS)
def test_every_format_and_protection_round_trips_byte_for_byte(
    world: World, format_name: str, protection: Protection
) -> None:
    devices = _devices_for(format_name, world)
    with tenancy.acting_as(world.olga):
        delivery = downloads.deliver(
            actor=world.olga,
            selection=Selection.devices([keyed.device.pk for keyed in devices]),
            options=DownloadOptions(format=format_name, protection=protection),
            secret=_secret(protection),
        )
    opened = open_export(
        delivery.content,
        password=None if protection == Protection.RECIPIENT else PASSWORD,
        private_key=RECIPIENT.private_pem if protection == Protection.RECIPIENT else None,
    )
    expected = {
        (keyed.device.serial, slot): key for keyed in devices for slot, key in keyed.keys.items()
    }
    serial_of_eui = {keyed.device.dev_eui: keyed.device.serial for keyed in devices}
    assert _keys_in(format_name, opened.payload, serial_of_eui) == expected
    manifest = opened.manifest
    assert opened.protection == protection
    assert manifest.format == format_name
    assert manifest.download_id == str(delivery.download.pk)
    assert manifest.payload.sha256 == hashlib.sha256(opened.payload).hexdigest()
    assert (manifest.device_count, manifest.key_count) == (len(devices), len(expected))
    listed = {(check.device, check.slot): check for check in manifest.key_checks}
    for (serial, slot), key in expected.items():
        check = listed[(serial, slot)]
        assert check.kcv == key_check_value_hex(key, check.algorithm)
    assert delivery.download.sha256 == hashlib.sha256(delivery.content).hexdigest()
    assert delivery.file_name.endswith(protection.file_suffix)
