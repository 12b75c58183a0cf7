"""CSV import with a header row: generic columns or The Things Stack's.

Streams the file line by line (RFC 4180 quoting, CR/LF/CRLF mixed, last line with or without
newline). The delimiter (``;`` ``,`` TAB ``|``) is sniffed from the header row unless the
caller gives one. Line numbers are physical lines, so a row with a quoted line break is
reported at the line where it starts.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from typing import BinaryIO

from meterkms.devices.importers.assembler import NumberPolicy, RecordAssembler
from meterkms.devices.importers.base import DEFAULT_OPTIONS, ParseOptions, guarded
from meterkms.devices.importers.columns import Planned, plan_columns
from meterkms.devices.importers.fastpath import fast_batch
from meterkms.devices.importers.limits import FatalFileError
from meterkms.devices.importers.profiles import GENERIC, TTS, TabularProfile
from meterkms.devices.importers.records import DeviceRecord, ParsedItem, RecordError
from meterkms.devices.importers.textio import TextLines

DELIMITERS = (";", ",", "\t", "|")
# Rows per fast-path batch. Small on purpose: a batch's records should be handed on while
# they are still in the garbage collector's youngest generation; at 2,048 rows the
# collector's work on survivors cost a third of the parse (measured: 200 rows ≈ 330k rows/s,
# 2,048 rows ≈ 230k rows/s on the same data).
BATCH_ROWS = 200


def sniff_delimiter(header: str) -> str:
    """The candidate delimiter that occurs most often in the header line (ties: ``;`` first)."""
    counts = [(header.count(d), -i, d) for i, d in enumerate(DELIMITERS)]
    count, _, best = max(counts)
    return best if count else ","


def _csv_problem(exc: csv.Error, line: int) -> FatalFileError:
    """A csv module error as a message of ours (its texts are fixed, but say it our way)."""
    text = str(exc)
    if "field larger than field limit" in text:
        message = (
            f"a field is longer than {csv.field_size_limit():,} characters "
            "(is a quote never closed?)"
        )
    elif "unexpected end of data" in text:
        message = "the file ends inside a quoted field (is a quote never closed?)"
    else:
        message = "the line is not valid CSV"
    return FatalFileError(line, message)


def _parse(
    stream: BinaryIO, options: ParseOptions, profile: TabularProfile
) -> Iterator[list[ParsedItem]]:
    if options.delimiter is not None and options.delimiter not in DELIMITERS:
        raise ValueError(f"delimiter must be one of {DELIMITERS!r}")
    lines = TextLines(stream, encoding=options.encoding, limits=options.limits)
    source = iter(lines)
    skipped = 0  # blank lines before the header, which the csv reader does not count
    for first in source:
        if first.strip():
            break
        skipped += 1
    else:
        raise FatalFileError(0, "the file is empty")
    delimiter = options.delimiter or sniff_delimiter(first)
    reader = csv.reader(itertools.chain([first], source), delimiter=delimiter, strict=False)
    try:
        header = next(reader)
        header_line = skipped + 1
        if len(header) > options.limits.max_columns:
            raise FatalFileError(
                header_line, f"the header has more than {options.limits.max_columns} columns"
            )
        plan = plan_columns(
            header,
            line=header_line,
            mapping=options.mapping,
            aliases=profile.aliases,
            required=profile.required_columns,
        )
        yield plan.warnings
        assembler = profile.assembler(options, NumberPolicy.SPREADSHEET)
        for items in _batches(reader, skipped, assembler, plan.columns, len(header)):
            if profile.adjust is not None:
                for item in items:
                    if type(item) is DeviceRecord:
                        profile.adjust(item)
            yield items
    except csv.Error as exc:
        raise _csv_problem(exc, reader.line_num + skipped) from None


def _line_breaks(row: list[str]) -> int:
    """How many line breaks the quoted cells of ``row`` hold (CR, LF and CRLF count once)."""
    text = "".join(row)
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _starts(rows: list[list[str]], first_line: int, last_line: int) -> list[int]:
    """The line each row starts on, given the lines the batch spans."""
    if last_line - first_line + 1 == len(rows):
        return list(range(first_line, last_line + 1))
    starts = []
    line = first_line
    for row in rows:
        starts.append(line)
        line += 1 + _line_breaks(row)
    return starts


def _batches(
    reader: Iterator[list[str]],
    skipped: int,
    assembler: RecordAssembler,
    plan: list[Planned],
    width: int,
) -> Iterator[list[ParsedItem]]:
    """Rows in batches through the fast path, else row by row; items in file order."""
    while True:
        first_line = reader.line_num + skipped + 1  # type: ignore[attr-defined]
        rows = list(itertools.islice(reader, BATCH_ROWS))
        if not rows:
            break
        starts = _starts(rows, first_line, reader.line_num + skipped)  # type: ignore[attr-defined]
        items = None
        if max(map(len, rows)) <= width:
            items = fast_batch(assembler, starts, rows, plan, width)
        if items is None:
            items = []
            for start, row in zip(starts, rows, strict=True):
                if len(row) > width and any(cell.strip() for cell in row[width:]):
                    message = f"the row has {len(row)} fields, the header only {width}"
                    items.append(RecordError(start, None, message))
                else:
                    items.extend(assembler.add(start, row, plan))
        yield items
    yield assembler.finish()


def parse_csv(stream: BinaryIO, options: ParseOptions = DEFAULT_OPTIONS) -> Iterator[ParsedItem]:
    """Parse a CSV file with a header row and the generic column names (see docs/formats.md)."""
    return guarded(_parse(stream, options, GENERIC))


def parse_tts_csv(
    stream: BinaryIO, options: ParseOptions = DEFAULT_OPTIONS
) -> Iterator[ParsedItem]:
    """Parse The Things Stack's device CSV (``;``-separated; ``dev_eui``, ``join_eui``, …)."""
    return guarded(_parse(stream, options, TTS))
