"""Export writers: key rows out to the file format a head-end or spreadsheet needs.

Every writer takes an iterable of :class:`ExportRow` (one key of one device, rows of a
device adjacent) and a binary stream, writes incrementally and returns the number of rows
written. :func:`write` picks a writer by format name; :data:`FORMAT_SLOTS` tells a caller in
advance which key slots a format can hold, so that it can refuse before the first byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from meterkms.devices.enums import KeySlot
from meterkms.keys.exports.formats.csv_writer import write_csv
from meterkms.keys.exports.formats.json_writers import (
    TTS_SLOTS,
    write_chirpstack,
    write_json,
    write_tts_json,
)
from meterkms.keys.exports.formats.rows import (
    LORAWAN_ROOT_SLOTS,
    WMBUS_SLOTS,
    ExportFormatError,
    ExportRow,
)
from meterkms.keys.exports.formats.text_writers import (
    write_key_list,
    write_tts_csv,
    write_wmbusmeters,
)
from meterkms.keys.exports.formats.xlsx_writer import write_xlsx

Writer = Callable[..., int]

#: Every export format by name (the names match the import formats where both exist).
WRITERS: dict[str, Writer] = {
    "csv": write_csv,
    "xlsx": write_xlsx,
    "json": write_json,
    "tts-csv": write_tts_csv,
    "tts-json": write_tts_json,
    "chirpstack": write_chirpstack,
    "keylist": write_key_list,
    "wmbusmeters": write_wmbusmeters,
}

_ALL = frozenset(KeySlot)

#: Key slots each format can hold (TTS CSV holds session keys only with session_keys=True).
FORMAT_SLOTS: dict[str, frozenset[KeySlot]] = {
    "csv": _ALL,
    "xlsx": _ALL,
    "json": _ALL,
    "tts-csv": TTS_SLOTS,
    "tts-json": TTS_SLOTS,
    "chirpstack": LORAWAN_ROOT_SLOTS,
    "keylist": WMBUS_SLOTS,
    "wmbusmeters": WMBUS_SLOTS,
}

#: Media types for the download response.
CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "tts-csv": "text/csv; charset=utf-8",
    "tts-json": "application/json",
    "chirpstack": "application/json",
    "keylist": "text/plain; charset=utf-8",
    "wmbusmeters": "text/plain; charset=utf-8",
}


def write(format_name: str, rows: Iterable[ExportRow], out: BinaryIO, **options: Any) -> int:
    """Write ``rows`` to ``out`` in the named format; returns the number of rows written."""
    writer = WRITERS.get(format_name)
    if writer is None:
        raise ValueError(f"unknown export format {format_name!r}; use one of {sorted(WRITERS)}")
    return writer(rows, out, **options)


__all__ = [
    "CONTENT_TYPES",
    "FORMAT_SLOTS",
    "WRITERS",
    "ExportFormatError",
    "ExportRow",
    "write",
    "write_chirpstack",
    "write_csv",
    "write_json",
    "write_key_list",
    "write_tts_csv",
    "write_tts_json",
    "write_wmbusmeters",
    "write_xlsx",
]
