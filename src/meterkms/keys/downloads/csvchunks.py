"""The CSV export written straight from key rows, column by column: the bulk format's fast path.

Exactly the bytes of ``keys.exports.formats.write_csv`` (same header, BOM, columns, quoting,
formula neutralisation, thousands separator; a test holds the two equal) without building
an ``ExportRow`` per key: each batch of database rows becomes seventeen columns with a few
C-level calls, and ``csv_lines`` quotes and joins them. A million-key download spends its
time on the database, the cipher and this join.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import TYPE_CHECKING, BinaryIO

from meterkms.keys.downloads.options import DownloadOptions
from meterkms.keys.downloads.source import (
    I_ALGORITHM,
    I_DEV_ADDR,
    I_DEV_EUI,
    I_DEVICE,
    I_JOIN_EUI,
    I_KCV,
    I_LORAWAN_VERSION,
    I_MEDIUM,
    I_METER_ADDRESS,
    I_MODULE_ADDRESS,
    I_SERIAL,
    I_SLOT,
    I_TYPE,
    I_VERSION,
    I_WMBUS_MANUFACTURER,
    I_WMBUS_VERSION,
    Row,
)
from meterkms.keys.exports.formats.cells import byte_hex, check_thousands, format_numbers
from meterkms.keys.exports.formats.csv_writer import BOM, COLUMNS, DELIMITERS, csv_lines
from meterkms.keys.exports.formats.rows import ExportFormatError

if TYPE_CHECKING:
    from meterkms.keys.downloads.build import Chunk

#: Text columns taken as they are, in CSV column order before ``version``.
_LEADING = (I_SERIAL, I_TYPE, I_WMBUS_MANUFACTURER, I_METER_ADDRESS)
_MIDDLE = (I_MODULE_ADDRESS, I_DEV_EUI, I_JOIN_EUI, I_DEV_ADDR, I_LORAWAN_VERSION)


def _column(rows: list[Row], index: int) -> list[str]:
    values = list(map(itemgetter(index), rows))
    return values if None not in values else [value or "" for value in values]


def csv_columns(
    rows: list[Row], keys: list[bytes], labels: dict[int, tuple[str, ...]], thousands: str
) -> list[list[str]]:
    """The seventeen CSV columns of one batch of key rows (the order of ``COLUMNS``)."""
    kcvs = list(map(itemgetter(I_KCV), rows))
    if not all(keys) or not all(kcvs):
        serial = next(
            row[I_SERIAL] for row, key in zip(rows, keys, strict=True) if not key or not row[I_KCV]
        )
        raise ExportFormatError(f"the row for serial {serial!r} lacks its key or check value")
    return [
        *(_column(rows, index) for index in _LEADING),
        byte_hex(map(itemgetter(I_WMBUS_VERSION), rows)),
        byte_hex(map(itemgetter(I_MEDIUM), rows)),
        *(_column(rows, index) for index in _MIDDLE),
        [",".join(labels.get(row[I_DEVICE], ())) for row in rows],
        list(map(itemgetter(I_SLOT), rows)),
        list(map(itemgetter(I_ALGORITHM), rows)),
        [key.hex().upper() for key in keys],
        kcvs,
        format_numbers(list(map(itemgetter(I_VERSION), rows)), thousands),
    ]


def csv_payload(chunks: Iterable[Chunk], options: DownloadOptions) -> Iterator[bytes]:
    """The CSV of ``chunks`` as UTF-8 pieces: the header, then one piece per chunk."""
    if options.delimiter not in DELIMITERS:
        raise ValueError(f"delimiter must be one of {DELIMITERS!r}")
    check_thousands(options.thousands)
    header = options.delimiter.join(f'"{name}"' for name in COLUMNS) + "\r\n"
    yield (BOM + header).encode("utf-8")
    for chunk in chunks:
        if chunk.rows:
            columns = csv_columns(chunk.rows, chunk.keys, chunk.labels, options.thousands)
            yield csv_lines(columns, options.delimiter).encode("utf-8")


def write_csv_chunks(chunks: Iterable[Chunk], out: BinaryIO, options: DownloadOptions) -> int:
    """Write the CSV of ``chunks`` to ``out``; returns the number of rows (keys) written."""
    counted: list[int] = []

    def counting() -> Iterator[Chunk]:
        for chunk in chunks:
            counted.append(len(chunk.rows))
            yield chunk

    for piece in csv_payload(counting(), options):
        out.write(piece)
    return sum(counted)
