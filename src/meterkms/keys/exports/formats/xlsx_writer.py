"""XLSX export: the CSV columns in one sheet, every identifier and key a text cell.

openpyxl's write-only mode streams rows to a temporary file; the finished workbook is then
copied to ``out`` in chunks (a ZIP needs its central directory at the end, so no byte of an
XLSX can be sent before the last row is written). Cells are typed as text (``t="inlineStr"``,
shared strings are avoided), so Excel keeps leading zeros and long hex keys as they are. A
text starting with a formula character is stored unchanged in a text cell flagged with
Excel's quote prefix and the ``@`` format, which is what Excel itself does for a typed
``'=…``: it shows as text and stays text when edited. Characters XML cannot hold (control
characters) become U+FFFD.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell

from meterkms.keys.exports.formats.cells import FORMULA_TRIGGERS
from meterkms.keys.exports.formats.csv_writer import COLUMNS
from meterkms.keys.exports.formats.rows import ExportRow, require_key

SHEET_TITLE = "keys"


def _texts(row: ExportRow, key_hex: str) -> list[str]:
    def byte(value: int | None) -> str:
        """A byte as two hex digits."""
        return "" if value is None else f"{value:02X}"

    return [
        row.serial,
        row.device_type or "",
        row.manufacturer or "",
        row.meter_address or "",
        byte(row.version),
        byte(row.medium),
        row.radio_address or "",
        row.dev_eui or "",
        row.join_eui or "",
        row.dev_addr or "",
        row.lorawan_version or "",
        ",".join(row.labels),
        str(row.slot),
        str(row.algorithm),
        key_hex,
        row.check_value,
    ]


class _TextCells:
    """Turns texts into row values: plain strings where openpyxl types them as text anyway,
    explicit text cells where it would see a formula."""

    def __init__(self, sheet: object) -> None:
        self.sheet = sheet

    def cell(self, text: str) -> WriteOnlyCell:
        """A text cell with the quote prefix, for text that starts like a formula."""
        cell = WriteOnlyCell(self.sheet, value=text)
        cell.data_type = "s"  # never a formula, whatever the first character is
        cell.number_format = "@"
        cell.quotePrefix = True
        return cell

    def row(self, texts: list[str]) -> list[object]:
        """Row values for ``texts``; checked per row first, per cell only when needed."""
        if ILLEGAL_CHARACTERS_RE.search("".join(texts)):
            texts = [ILLEGAL_CHARACTERS_RE.sub("\ufffd", text) for text in texts]
        values: list[object] = [
            self.cell(text) if text and text[0] in FORMULA_TRIGGERS else text or None
            for text in texts
        ]
        return values


def write_xlsx(rows: Iterable[ExportRow], out: BinaryIO) -> int:
    """Write ``rows`` as an XLSX workbook to ``out``; returns the number of rows written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    cells = _TextCells(sheet)
    sheet.append(list(COLUMNS))
    count = 0
    for row in rows:
        line = cells.row(_texts(row, require_key(row)))
        line.append(row.key_version)  # a plain number cell
        sheet.append(line)
        count += 1
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        shutil.copyfileobj(spool, out, 64 * 1024)
    return count
