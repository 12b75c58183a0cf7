import io
import zipfile

import openpyxl

from meterkms.keys.exports.formats import write_xlsx
from tests.keys.exports.formats.factories import wmbus_row


def _sheet(rows):
    out = io.BytesIO()
    assert write_xlsx(rows, out) == len(rows)
    return out.getvalue()


def test_serials_addresses_and_keys_are_text_cells():
    row = wmbus_row(serial="0000123", meter_address="00000001")
    data = _sheet([row])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = next(iter(sheet.iter_rows(min_row=2, values_only=False)))
    assert [c.value for c in cells[:4]] == ["0000123", "TOPAS", "AMT", "00000001"]
    assert all(c.data_type == "s" for c in cells[:4])
    assert cells[14].value == row.key.hex().upper()
    assert cells[14].data_type == "s"


def test_formula_like_text_stays_text_with_the_quote_prefix():
    data = _sheet(
        [wmbus_row(device_type='=HYPERLINK("x")'), wmbus_row(serial="W2", device_type="@SUM(1)")]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    first, second = list(sheet.iter_rows(min_row=2))
    assert (first[1].value, first[1].data_type, first[1].quotePrefix) == (
        '=HYPERLINK("x")',
        "s",
        True,
    )
    assert second[1].quotePrefix
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml


def test_control_characters_are_replaced_not_fatal():
    data = _sheet([wmbus_row(device_type="a\x00b")])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert next(iter(sheet.iter_rows(min_row=2, values_only=True)))[1] == "a\ufffdb"


class _PipeOnly(io.RawIOBase):
    """An output that can only be written to, like a response stream."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        self.data += chunk
        return len(chunk)


def test_streams_to_an_unseekable_output_without_temporary_files(monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise AssertionError("a temporary file would hold keys in clear")

    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    rows = [wmbus_row(serial=f"S{n}", key_version=3) for n in range(50)]
    out = _PipeOnly()
    assert write_xlsx(rows, out) == 50
    sheet = openpyxl.load_workbook(io.BytesIO(bytes(out.data)), read_only=True).active
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [v[0] for v in values] == [f"S{n}" for n in range(50)]
    assert [v[14] for v in values] == [r.key.hex().upper() for r in rows]
    assert all(v[16] == 3 for v in values)


def test_markup_and_spaces_survive_as_text():
    data = _sheet([wmbus_row(device_type=" <a&b> ", labels=("x<y", "z"))])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    first = next(iter(sheet.iter_rows(min_row=2, values_only=True)))
    assert first[1] == " <a&b> "
    assert first[11] == "x<y,z"


def test_header_row_names_every_column():
    from meterkms.keys.exports.formats.csv_writer import COLUMNS

    sheet = openpyxl.load_workbook(io.BytesIO(_sheet([]))).active
    assert next(iter(sheet.iter_rows(values_only=True))) == tuple(COLUMNS)


def test_rows_beyond_the_sheet_limit_continue_on_a_second_sheet(monkeypatch):
    from meterkms.keys.exports.formats import xlsx_writer

    monkeypatch.setattr(xlsx_writer, "MAX_SHEET_ROWS", 4)  # header + 3 rows per sheet
    rows = [wmbus_row(serial=f"S{n}") for n in range(7)]
    workbook = openpyxl.load_workbook(io.BytesIO(_sheet(rows)))
    assert workbook.sheetnames == ["keys", "keys-2", "keys-3"]
    serials = [
        row[0]
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(min_row=2, values_only=True)
    ]
    assert serials == [f"S{n}" for n in range(7)]
    assert all(sheet.max_row <= 4 for sheet in workbook.worksheets)


def test_an_exact_multiple_of_the_limit_makes_no_empty_sheet(monkeypatch):
    from meterkms.keys.exports.formats import xlsx_writer

    monkeypatch.setattr(xlsx_writer, "MAX_SHEET_ROWS", 4)
    workbook = openpyxl.load_workbook(
        io.BytesIO(_sheet([wmbus_row(serial=f"S{n}") for n in range(6)]))
    )
    assert workbook.sheetnames == ["keys", "keys-2"]
