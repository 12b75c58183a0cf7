"""The export row every writer takes, and the functions the writers share.

The download service unseals keys and hands rows to a writer; a row is one key of one
device. Rows of one device must be adjacent (the service orders by serial): formats with one
entry per device (The Things Stack, ChirpStack, JSON, wmbusmeters) group adjacent rows.

Invariant: no writer logs a row, and no exception message carries key bytes; ``ExportRow``
hides its key from ``repr``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from meterkms.devices.enums import KeySlot
from meterkms.vault.algorithms import Algorithm


class ExportFormatError(ValueError):
    """Rows cannot be written in the chosen format; the message names the serial, not keys."""


@dataclass(slots=True, repr=False)
class ExportRow:
    """One key of one device, with the device identifiers its export formats need.

    ``key`` is the raw key; ``check_value`` its key check value as hex (computed by the
    vault). wM-Bus rows carry ``manufacturer`` and ``meter_address``; LoRaWAN rows
    ``dev_eui``, ``join_eui`` and ``lorawan_version`` (``1.0.2``, ``1.1``, …).
    """

    serial: str
    slot: KeySlot
    algorithm: Algorithm
    key: bytes
    check_value: str
    device_type: str = ""
    manufacturer: str | None = None
    meter_address: str | None = None
    version: int | None = None
    medium: int | None = None
    radio_address: str | None = None
    dev_eui: str | None = None
    join_eui: str | None = None
    dev_addr: str | None = None
    lorawan_version: str | None = None
    key_version: int | None = None
    labels: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"ExportRow(serial={self.serial!r}, slot={self.slot.value}, "
            f"algorithm={self.algorithm.value}, key=<{len(self.key)} bytes>, "
            f"check_value={self.check_value!r})"
        )


def require_key(row: ExportRow) -> str:
    """The row's key as upper-case hex, after checking the row carries key and check value."""
    if not row.key:
        raise ExportFormatError(f"the row for serial {row.serial!r} has no key")
    if not row.check_value:
        raise ExportFormatError(f"the row for serial {row.serial!r} has no key check value")
    return row.key.hex().upper()


def devices(rows: Iterable[ExportRow]) -> Iterator[list[ExportRow]]:
    """Adjacent rows of one serial as one list; a slot twice for one device is an error."""
    for serial, group in itertools.groupby(rows, key=lambda row: row.serial):
        device = list(group)
        if len(device) > 1 and len({row.slot for row in device}) != len(device):
            raise ExportFormatError(f"serial {serial!r} has two keys for the same slot")
        yield device


def check_slots(device: list[ExportRow], allowed: frozenset[KeySlot], format_name: str) -> None:
    """Refuse a key whose slot the format has no place for."""
    for row in device:
        if row.slot not in allowed:
            raise ExportFormatError(
                f"the {row.slot.value} key of serial {row.serial!r} cannot be written as "
                f"{format_name}"
            )


def first(device: list[ExportRow], attribute: str) -> object:
    """The first non-empty value of ``attribute`` among a device's rows."""
    for row in device:
        value = getattr(row, attribute)
        if value:
            return value
    return None


#: LoRaWAN version → The Things Stack MAC version name.
TTS_MAC_VERSIONS: dict[str, str] = {
    "1.0": "MAC_V1_0",
    "1.0.1": "MAC_V1_0_1",
    "1.0.2": "MAC_V1_0_2",
    "1.0.3": "MAC_V1_0_3",
    "1.0.4": "MAC_V1_0_4",
    "1.1": "MAC_V1_1",
}


def tts_mac_version(serial: str, version: str) -> str:
    """The Things Stack's name for a LoRaWAN version (``1.0.4`` → ``MAC_V1_0_4``)."""
    name = TTS_MAC_VERSIONS.get(version)
    if name is None:
        raise ExportFormatError(f"serial {serial!r} has an unknown LoRaWAN version")
    return name


WMBUS_SLOTS = frozenset({KeySlot.OMS, KeySlot.MBUS, KeySlot.DES})
LORAWAN_ROOT_SLOTS = frozenset({KeySlot.LORAWAN_APPKEY, KeySlot.LORAWAN_NWKKEY})
