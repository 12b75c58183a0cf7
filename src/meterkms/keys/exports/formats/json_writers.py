"""JSON exports: the generic device list, The Things Stack end devices, ChirpStack v4.

Generic (reads back with the generic JSON importer): an array with one object per device::

    {"serial": "…", "device_type": "…", "manufacturer": "AMT", "meter_address": "12345678",
     "version": "01", "medium": "07", …, "labels": ["…"],
     "keys": [{"slot": "OMS", "algorithm": "AES128", "key": "…", "kcv": "…", "version": 1}]}

The Things Stack: concatenated EndDevice objects as its JSON import reads them (``ids``,
``lorawan_version``, ``root_keys``; session keys with ``session.dev_addr``). The serial and
the key check values travel in ``attributes`` (``serial``, ``app-key-kcv``, ``nwk-key-kcv``).

ChirpStack v4: an array; each element holds the body for ``POST /api/devices`` (``device``,
without ``application_id``/``device_profile_id``, which the importing script adds) and the
body for ``POST /api/devices/{dev_eui}/keys`` (``device_keys``). For LoRaWAN 1.0.x the AppKey
goes into ``nwk_key`` (ChirpStack ``api/proto/api/device.proto``); ``kcv`` lists the check
values by slot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import BinaryIO

from meterkms.devices.enums import KeySlot
from meterkms.keys.exports.formats.rows import (
    LORAWAN_ROOT_SLOTS,
    ExportFormatError,
    ExportRow,
    check_slots,
    devices,
    first,
    require_key,
    tts_mac_version,
)

CHUNK = 1000
_ZERO_KEY = "0" * 32

_TTS_SESSION = {
    KeySlot.LORAWAN_APPSKEY: "app_s_key",
    KeySlot.LORAWAN_NWKSKEY: "f_nwk_s_int_key",  # 1.0.x NwkSKey is TTS's FNwkSIntKey
    KeySlot.LORAWAN_FNWKSINTKEY: "f_nwk_s_int_key",
    KeySlot.LORAWAN_SNWKSINTKEY: "s_nwk_s_int_key",
    KeySlot.LORAWAN_NWKSENCKEY: "nwk_s_enc_key",
}
TTS_SLOTS = LORAWAN_ROOT_SLOTS | frozenset(_TTS_SESSION)


# One encoder for the whole module: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
_dumps = _ENCODER.encode


class _Chunks:
    """Collects JSON texts and writes them to ``out`` as UTF-8 every ``CHUNK`` items."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.parts: list[str] = []

    def add(self, text: str) -> None:
        """Queue one piece of JSON text."""
        self.parts.append(text)
        if len(self.parts) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Write what is queued."""
        if self.parts:
            self.out.write("".join(self.parts).encode("utf-8"))
            self.parts.clear()


def _generic_object(device: list[ExportRow]) -> dict[str, object]:
    def byte(value: object) -> str | None:
        """A byte as two hex digits."""
        return None if value is None else f"{value:02X}"

    head = device[0]
    if len(device) == 1:  # the common case: the row itself has the device's fields

        def pick(name: str) -> object:
            return getattr(head, name)
    else:

        def pick(name: str) -> object:
            return first(device, name)

    obj: dict[str, object] = {"serial": head.serial}
    for name in ("device_type", "manufacturer", "meter_address"):
        obj[name] = pick(name)
    obj["version"] = byte(pick("version") if head.version is None else head.version)
    obj["medium"] = byte(pick("medium") if head.medium is None else head.medium)
    for name in ("radio_address", "dev_eui", "join_eui", "dev_addr", "lorawan_version"):
        obj[name] = pick(name)
    obj["labels"] = list(head.labels)
    obj["keys"] = [
        {
            "slot": str(row.slot),
            "algorithm": str(row.algorithm),
            "key": require_key(row),
            "kcv": row.check_value,
            "version": row.key_version,
        }
        for row in device
    ]
    return {name: value for name, value in obj.items() if value not in (None, "")}


def write_json(rows: Iterable[ExportRow], out: BinaryIO) -> int:
    """Write the generic JSON array (one object per device); returns the rows written."""
    chunks = _Chunks(out)
    count = 0
    chunks.add("[")
    for index, device in enumerate(devices(rows)):
        chunks.add(("\n" if index == 0 else ",\n") + _dumps(_generic_object(device)))
        count += len(device)
    chunks.add("\n]\n")
    chunks.flush()
    return count


def _lorawan_ids(device: list[ExportRow], format_name: str) -> tuple[str, str]:
    dev_eui, join_eui = first(device, "dev_eui"), first(device, "join_eui")
    if not dev_eui or not join_eui:
        raise ExportFormatError(
            f"serial {device[0].serial!r} has no DevEUI/JoinEUI for {format_name}"
        )
    return str(dev_eui), str(join_eui)


def _tts_object(
    device: list[ExportRow], frequency_plan_id: str | None, phy_version: str | None
) -> dict[str, object]:
    check_slots(device, TTS_SLOTS, "The Things Stack JSON")
    dev_eui, join_eui = _lorawan_ids(device, "The Things Stack")
    obj: dict[str, object] = {
        "ids": {"device_id": f"eui-{dev_eui.lower()}", "dev_eui": dev_eui, "join_eui": join_eui},
        "name": device[0].serial,
    }
    if device[0].device_type:
        obj["description"] = device[0].device_type
    version = first(device, "lorawan_version")
    if version:
        obj["lorawan_version"] = tts_mac_version(device[0].serial, str(version))
    if phy_version:
        obj["lorawan_phy_version"] = phy_version
    if frequency_plan_id:
        obj["frequency_plan_id"] = frequency_plan_id
    attributes = {"serial": device[0].serial}
    root: dict[str, object] = {}
    session_keys: dict[str, object] = {}
    for row in device:
        if row.slot in LORAWAN_ROOT_SLOTS:
            name = "app_key" if row.slot is KeySlot.LORAWAN_APPKEY else "nwk_key"
            root[name] = {"key": require_key(row)}
            attributes[f"{name.replace('_', '-')}-kcv"] = row.check_value
        else:
            session_keys[_TTS_SESSION[row.slot]] = {"key": require_key(row)}
    obj["supports_join"] = bool(root)
    if root:
        obj["root_keys"] = root
    if session_keys:
        obj["session"] = {"dev_addr": first(device, "dev_addr"), "keys": session_keys}
    obj["attributes"] = attributes
    return obj


def write_tts_json(
    rows: Iterable[ExportRow],
    out: BinaryIO,
    *,
    frequency_plan_id: str | None = None,
    lorawan_phy_version: str | None = None,
) -> int:
    """Write The Things Stack end-device JSON (one object per line); returns the rows written."""
    chunks = _Chunks(out)
    count = 0
    for device in devices(rows):
        chunks.add(_dumps(_tts_object(device, frequency_plan_id, lorawan_phy_version)) + "\n")
        count += len(device)
    chunks.flush()
    return count


def _chirpstack_object(device: list[ExportRow]) -> dict[str, object]:
    check_slots(device, LORAWAN_ROOT_SLOTS, "ChirpStack")
    dev_eui, join_eui = _lorawan_ids(device, "ChirpStack")
    by_slot = {row.slot: row for row in device}
    app_key = by_slot.get(KeySlot.LORAWAN_APPKEY)
    nwk_key = by_slot.get(KeySlot.LORAWAN_NWKKEY)
    version = str(first(device, "lorawan_version") or "1.0")
    if version.startswith("1.0"):
        if app_key is None or nwk_key is not None:
            raise ExportFormatError(
                f"serial {device[0].serial!r}: LoRaWAN 1.0.x needs exactly an AppKey"
            )
        keys = {"dev_eui": dev_eui, "nwk_key": require_key(app_key), "app_key": _ZERO_KEY}
    else:
        if app_key is None or nwk_key is None:
            raise ExportFormatError(
                f"serial {device[0].serial!r}: LoRaWAN 1.1 needs NwkKey and AppKey"
            )
        keys = {
            "dev_eui": dev_eui,
            "nwk_key": require_key(nwk_key),
            "app_key": require_key(app_key),
        }
    return {
        "device": {
            "dev_eui": dev_eui,
            "join_eui": join_eui,
            "name": device[0].serial,
            "description": device[0].device_type or "",
        },
        "device_keys": keys,
        "kcv": {str(row.slot): row.check_value for row in device},
    }


def write_chirpstack(rows: Iterable[ExportRow], out: BinaryIO) -> int:
    """Write ChirpStack v4 API bodies as one JSON array; returns the rows written."""
    chunks = _Chunks(out)
    count = 0
    chunks.add("[")
    for index, device in enumerate(devices(rows)):
        chunks.add(("\n" if index == 0 else ",\n") + _dumps(_chirpstack_object(device)))
        count += len(device)
    chunks.add("\n]\n")
    chunks.flush()
    return count
