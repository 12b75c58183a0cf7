import datetime
import io
import zipfile

import openpyxl

from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import ImportLimits, parse_xlsx
from tests.devices.importers.parsing import errors, fatal, random_key, records, run, warnings

KEY = random_key()


def _workbook(*rows: list) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_text_cells_are_read_as_they_are():
    data = _workbook(
        ["Seriennummer", "Hersteller", "Adresse", "AES-Schlüssel"], ["0012", "AMT", "00000001", KEY]
    )
    [record] = records(run(parse_xlsx, data))
    assert (record.serial, record.meter_address) == ("0012", "00000001")
    assert record.keys[KeySlot.OMS].hex == KEY


def test_numbers_dates_and_formulas_are_errors_not_silently_fixed():
    data = _workbook(
        ["serial", "meter_address", "key", "device_type"],
        [12, 1234567, 1.2e30, datetime.date(2024, 1, 1)],
        ["A2", "00000002", "=A1", "x"],
    )
    items = run(parse_xlsx, data)
    problems = {(e.line, e.field) for e in errors(items)}
    assert {
        (2, "serial"),
        (2, "meter_address"),
        (2, "key"),
        (2, "device_type"),
        (3, "key"),
    } <= problems
    number_message = next(e.message for e in errors(items) if e.field == "key")
    assert "Text" in number_message
    assert records(items) == []


def test_header_may_follow_empty_rows_and_unknown_columns_warn():
    data = _workbook([], [None, None], ["serial", "Bemerkung", "key"], ["A1", "hello", KEY])
    items = run(parse_xlsx, data)
    [record] = records(items)
    assert record.line == 4
    assert [w.field for w in warnings(items)] == ["column 2 (Bemerkung)"]


def test_empty_sheet_broken_file_and_row_limit():
    assert fatal(run(parse_xlsx, _workbook()))[0].message == "the first worksheet is empty"
    assert "ZIP" in fatal(run(parse_xlsx, b"PK\x03\x04 not really"))[0].message
    rows = [["serial", "key"]] + [[f"A{i}", KEY] for i in range(20)]
    items = run(parse_xlsx, _workbook(*rows), limits=ImportLimits(max_rows=5))
    assert "more than 5 rows" in fatal(items)[0].message


def test_zip_bomb_is_refused_before_openpyxl_reads_it():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    [stop] = fatal(run(parse_xlsx, out.getvalue()))
    assert "zip bomb" in stop.message
