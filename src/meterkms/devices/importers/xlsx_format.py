"""XLSX import: the first worksheet, a header row, the generic column names.

openpyxl reads in read-only mode, row by row (it uses defusedxml when installed, which this
project requires). Cells are taken as text: a number, date or formula in a key or serial
column is an error, never silently turned back into text, because Excel has already lost
leading zeros or rounded a long hex key to ``1.2E+30`` by then.

The archive is checked for zip bombs before openpyxl opens it, the sheet's claimed size is
ignored (a forged dimension must not make every row 16,384 cells wide) and at most
``max_columns`` columns are read.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any, BinaryIO

from meterkms.devices.importers.assembler import CellMarker, NumberPolicy
from meterkms.devices.importers.base import DEFAULT_OPTIONS, ParseOptions, guarded
from meterkms.devices.importers.columns import plan_columns
from meterkms.devices.importers.limits import FatalFileError
from meterkms.devices.importers.profiles import GENERIC
from meterkms.devices.importers.records import ParsedItem
from meterkms.devices.importers.safezip import open_zip, seekable_copy

_BATCH = 1000
_UNREADABLE = "the file is not a readable XLSX workbook"


def _cell_value(cell: Any) -> object:
    data_type = getattr(cell, "data_type", None)
    if data_type == "f":
        return CellMarker.FORMULA
    if data_type == "e":
        return CellMarker.ERROR
    return getattr(cell, "value", None)


def _read_rows(rows: Iterator[Any], count: int) -> list[list[object]]:
    """Up to ``count`` rows as values; openpyxl's warnings and errors stay in here.

    openpyxl raises many kinds of exceptions on damaged workbooks (KeyError, TypeError,
    ValueError, ...); any of them means the same to the user: the workbook is unreadable.
    """
    batch: list[list[object]] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for row in rows:
                batch.append([_cell_value(cell) for cell in row])
                if len(batch) >= count:
                    break
    except Exception:  # see the docstring
        raise FatalFileError(0, _UNREADABLE) from None
    return batch


def _open_sheet(stream: BinaryIO, options: ParseOptions) -> tuple[Any, Iterator[Any]]:
    start = stream.tell()
    open_zip(stream, options.limits).close()
    stream.seek(start)
    try:
        import openpyxl

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(
                stream, read_only=True, data_only=False, keep_links=False
            )
            if not workbook.worksheets:
                raise FatalFileError(0, "the workbook has no worksheet")
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()
            rows = sheet.iter_rows(min_row=1, max_col=options.limits.max_columns)
    except FatalFileError:
        raise
    except Exception:  # openpyxl raises many kinds on damaged files
        raise FatalFileError(0, _UNREADABLE) from None
    return workbook, rows


def _parse(stream: BinaryIO, options: ParseOptions) -> Iterator[list[ParsedItem]]:
    source = seekable_copy(stream, options.limits)
    try:
        yield from _sheet_items(source, options)
    finally:
        if source is not stream:
            source.close()


def _sheet_items(stream: BinaryIO, options: ParseOptions) -> Iterator[list[ParsedItem]]:
    workbook, rows = _open_sheet(stream, options)
    try:
        number = 0
        plan = None
        assembler = GENERIC.assembler(options, NumberPolicy.SPREADSHEET)
        while batch := _read_rows(rows, _BATCH):
            out: list[ParsedItem] = []
            for values in batch:
                number += 1
                if number > options.limits.max_rows + 1:
                    raise FatalFileError(
                        number, f"the sheet has more than {options.limits.max_rows:,} rows"
                    )
                if plan is None:
                    if any(v is not None and v != "" for v in values):
                        headers = [v if isinstance(v, str) else "" for v in values]
                        plan = plan_columns(
                            headers, line=number, mapping=options.mapping, required=("serial",)
                        )
                        out.extend(plan.warnings)
                    continue
                out.extend(assembler.add(number, values, plan.columns))
            yield out
        if plan is None:
            raise FatalFileError(0, "the first worksheet is empty")
        yield assembler.finish()
    finally:
        workbook.close()


def parse_xlsx(stream: BinaryIO, options: ParseOptions = DEFAULT_OPTIONS) -> Iterator[ParsedItem]:
    """Parse the first worksheet of an XLSX workbook (header row, generic column names)."""
    return guarded(_parse(stream, options))
