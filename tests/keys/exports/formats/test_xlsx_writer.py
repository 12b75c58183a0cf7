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
