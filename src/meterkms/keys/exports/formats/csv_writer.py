"""CSV export in the user's delimiter: UTF-8 with BOM, every cell quoted text, one key per row.

Columns (always all of them, so the file shape does not depend on the data)::

    serial, device_type, manufacturer, meter_address, version, medium, radio_address,
    dev_eui, join_eui, dev_addr, lorawan_version, labels, slot, algorithm, key, kcv,
    key_version

Every cell is quoted (RFC 4180), so serials and keys are text and not numbers; formula
starts are neutralised (see :mod:`cells`). ``version`` and ``medium`` are two hex digits;
``key_version`` gets the user's thousands separator. The file reads back with the generic
CSV importer (a ``slot`` column merges the rows of one device).

Rows are formatted a batch at a time, column by column, so that a million keys cost a few
C-level joins per thousand rows rather than a csv-module call per row.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from operator import attrgetter
from typing import BinaryIO

from meterkms.keys.exports.formats.cells import (
    byte_hex,
    check_thousands,
    format_numbers,
    quoted_column,
)
from meterkms.keys.exports.formats.rows import ExportFormatError, ExportRow

DELIMITERS = (";", ",", "\t", "|")
COLUMNS = (
    "serial",
    "device_type",
    "manufacturer",
    "meter_address",
    "version",
    "medium",
    "radio_address",
    "dev_eui",
    "join_eui",
    "dev_addr",
    "lorawan_version",
    "labels",
    "slot",
    "algorithm",
    "key",
    "kcv",
    "key_version",
)
BATCH = 2000
BOM = "\ufeff"


def _text(batch: list[ExportRow], attribute: str) -> list[str]:
    column = list(map(attrgetter(attribute), batch))
    return column if None not in column else [value or "" for value in column]


def _columns(batch: list[ExportRow], thousands: str) -> list[list[str]]:
    keys = [row.key for row in batch]
    check_values = [row.check_value for row in batch]
    if not all(keys) or not all(check_values):
        bad = next(row for row in batch if not row.key or not row.check_value)
        raise ExportFormatError(f"the row for serial {bad.serial!r} lacks its key or check value")
    labels = [",".join(row.labels) for row in batch]
    return [
        [row.serial for row in batch],
        _text(batch, "device_type"),
        _text(batch, "manufacturer"),
        _text(batch, "meter_address"),
        byte_hex(row.version for row in batch),
        byte_hex(row.medium for row in batch),
        _text(batch, "radio_address"),
        _text(batch, "dev_eui"),
        _text(batch, "join_eui"),
        _text(batch, "dev_addr"),
        _text(batch, "lorawan_version"),
        labels,
        # StrEnum members are str already: no .value lookups per row.
        list(map(attrgetter("slot"), batch)),
        list(map(attrgetter("algorithm"), batch)),
        [key.hex().upper() for key in keys],
        check_values,
        format_numbers([row.key_version for row in batch], thousands),
    ]


def csv_lines(columns: list[list[str]], delimiter: str) -> str:
    """Quoted CSV lines (CRLF) for columns of cell texts."""
    safe = [quoted_column(column) for column in columns]
    separator = f'"{delimiter}"'
    return '"' + '"\r\n"'.join(map(separator.join, zip(*safe, strict=True))) + '"\r\n'


def write_csv(
    rows: Iterable[ExportRow],
    out: BinaryIO,
    *,
    delimiter: str = ";",
    thousands: str = "",
) -> int:
    """Write ``rows`` as CSV to ``out`` in chunks; returns the number of rows written."""
    if delimiter not in DELIMITERS:
        raise ValueError(f"delimiter must be one of {DELIMITERS!r}")
    check_thousands(thousands)
    header = delimiter.join(f'"{name}"' for name in COLUMNS) + "\r\n"
    out.write((BOM + header).encode("utf-8"))
    count = 0
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, BATCH)):
        out.write(csv_lines(_columns(batch, thousands), delimiter).encode("utf-8"))
        count += len(batch)
    return count
