"""Row factories for the writer tests."""

from __future__ import annotations

import os

from meterkms.devices.enums import KeySlot
from meterkms.keys.exports.formats import ExportRow
from meterkms.vault.algorithms import Algorithm


def wmbus_row(serial: str = "W1", key: bytes | None = None, **extra: object) -> ExportRow:
    fields: dict[str, object] = {
        "device_type": "TOPAS",
        "manufacturer": "AMT",
        "meter_address": "12345678",
        "version": 1,
        "medium": 7,
    }
    fields.update(extra)
    return ExportRow(
        serial, KeySlot.OMS, Algorithm.AES128, key or os.urandom(16), "A1B2C3", **fields
    )


def lora_row(
    serial: str = "L1",
    slot: KeySlot = KeySlot.LORAWAN_APPKEY,
    version: str = "1.0.4",
    dev_eui: str = "70B3D57ED0000001",
    **extra: object,
) -> ExportRow:
    return ExportRow(
        serial,
        slot,
        Algorithm.AES128,
        os.urandom(16),
        "C3D4E5",
        dev_eui=dev_eui,
        join_eui="70B3D57ED0000000",
        lorawan_version=version,
        **extra,
    )
