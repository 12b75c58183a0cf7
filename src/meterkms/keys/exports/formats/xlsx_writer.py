"""XLSX export: the CSV columns in one sheet, every identifier and key a text cell.

The workbook is streamed straight into ``out`` as a ZIP archive, row by row: no byte of the
sheet (which holds keys in clear) is written to a temporary file, and memory stays bounded
whatever the row count. openpyxl's write-only mode would spool the sheet to a temporary
file in clear, so the few parts of a minimal SpreadsheetML package are written here.

Cells are inline strings (``t="inlineStr"``, no shared-string table to hold in memory) with
the text number format ``@``, so Excel keeps leading zeros and long hex keys as they are
and they stay text when edited. A text starting with a formula character also carries
Excel's quote prefix, which is what Excel itself stores for a typed ``'=…``. Characters
XML cannot hold (control characters) become U+FFFD. A sheet holds at most 1,048,576 rows;
longer exports continue on sheets ``keys-2``, ``keys-3``, … each with the header row.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from itertools import chain, islice
from typing import BinaryIO
from xml.sax.saxutils import escape

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from meterkms.keys.exports.formats.cells import FORMULA_TRIGGERS
from meterkms.keys.exports.formats.csv_writer import COLUMNS
from meterkms.keys.exports.formats.rows import ExportRow, require_key

SHEET_TITLE = "keys"
#: Rows of an Excel worksheet, the header row included.
MAX_SHEET_ROWS = 1_048_576
_ROWS_PER_WRITE = 2000

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

#: Cell formats: 0 general (numbers), 1 text, 2 text with the quote prefix.
_STYLES = (
    f'{_XML_HEAD}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
    ' quotePrefix="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

_LETTERS = [get_column_letter(index) for index in range(1, len(COLUMNS) + 2)]


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


def _text_cell(reference: str, text: str) -> str:
    if not text:
        return ""
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    style = 2 if text[0] in FORMULA_TRIGGERS else 1
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{reference}" s="{style}" t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _row_xml(number: int, texts: list[str], version: int | None) -> str:
    cells = "".join(
        _text_cell(f"{letter}{number}", text) for letter, text in zip(_LETTERS, texts, strict=False)
    )
    if version is not None:
        cells += f'<c r="{_LETTERS[len(texts)]}{number}"><v>{int(version)}</v></c>'
    return f'<row r="{number}">{cells}</row>'


class _Package:
    """The ZIP package: sheets streamed in order, then the parts that list them."""

    def __init__(self, out: BinaryIO) -> None:
        self.archive = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=5)
        self.sheets = 0

    def write_sheet(self, rows: Iterable[ExportRow]) -> int:
        """Add a sheet with the header row and ``rows``; returns the number of rows."""
        self.sheets += 1
        count = 0
        name = f"xl/worksheets/sheet{self.sheets}.xml"
        with self.archive.open(name, "w", force_zip64=True) as part:
            part.write(f'{_XML_HEAD}<worksheet xmlns="{_MAIN}"><sheetData>'.encode())
            batch = [_row_xml(1, list(COLUMNS), None)]
            for count, row in enumerate(rows, start=1):
                batch.append(_row_xml(count + 1, _texts(row, require_key(row)), row.key_version))
                if len(batch) >= _ROWS_PER_WRITE:
                    part.write("".join(batch).encode())
                    batch = []
            part.write(("".join(batch) + "</sheetData></worksheet>").encode())
        return count

    def close(self) -> None:
        numbers = range(1, self.sheets + 1)
        titles = [SHEET_TITLE if n == 1 else f"{SHEET_TITLE}-{n}" for n in numbers]
        sheets = "".join(
            f'<sheet name="{title}" sheetId="{n}" r:id="rId{n}"/>'
            for n, title in zip(numbers, titles, strict=True)
        )
        links = "".join(
            f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in numbers
        )
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_SHEET_TYPE}"/>'
            for n in numbers
        )
        office = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        parts = {
            "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f"<sheets>{sheets}</sheets></workbook>",
            "xl/styles.xml": _STYLES,
            "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PKG_REL}">{links}'
            f'<Relationship Id="rIdStyles" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>",
            "_rels/.rels": f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
            f'ContentType="{office}.sheet.main+xml"/><Override PartName="/xl/styles.xml" '
            f'ContentType="{office}.styles+xml"/>{overrides}</Types>',
        }
        for name, xml in parts.items():
            text = xml if xml.startswith("<?xml") else _XML_HEAD + xml
            self.archive.writestr(name, text.encode())
        self.archive.close()


def write_xlsx(rows: Iterable[ExportRow], out: BinaryIO) -> int:
    """Write ``rows`` as an XLSX workbook to ``out``; returns the number of rows written."""
    source = iter(rows)
    package = _Package(out)
    count = 0
    first = next(source, None)
    while True:
        head = [] if first is None else [first]
        count += package.write_sheet(chain(head, islice(source, MAX_SHEET_ROWS - 2)))
        first = next(source, None)
        if first is None:
            break
    package.close()
    return count
