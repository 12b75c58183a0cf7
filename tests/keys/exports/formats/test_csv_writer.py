import csv
import io

import pytest

from meterkms.keys.exports.formats import ExportFormatError, write_csv
from meterkms.keys.exports.formats.cells import neutralise, quoted_column
from meterkms.keys.exports.formats.csv_writer import COLUMNS
from tests.keys.exports.formats.factories import lora_row, wmbus_row


def _written(rows, **options) -> str:
    out = io.BytesIO()
    write_csv(rows, out, **options)
    return out.getvalue().decode("utf-8")


def test_file_starts_with_bom_and_quotes_every_cell_with_crlf_lines():
    text = _written([wmbus_row(serial="0012")])
    assert text.startswith("\ufeff")
    header, line, end = text[1:].split("\r\n")
    assert header == ";".join(f'"{name}"' for name in COLUMNS)
    assert line.startswith('"0012";"TOPAS";"AMT";"12345678";"01";"07";')
    assert end == ""


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_a_reference_parser_reads_back_every_cell_exactly(delimiter):
    rows = [wmbus_row(device_type='Meter "X"; big,\r\nnew'), lora_row()]
    text = _written(rows, delimiter=delimiter)
    parsed = list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=delimiter))
    assert parsed[0] == list(COLUMNS)
    assert parsed[1][1] == 'Meter "X"; big,\r\nnew'
    assert parsed[1][14] == rows[0].key.hex().upper()
    assert parsed[2][7] == "70B3D57ED0000001"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\0"])
def test_cells_starting_like_a_formula_are_neutralised_with_an_apostrophe(start):
    row = wmbus_row(device_type=f"{start}cmd|' /C calc'!A0", labels=(f"{start}x",))
    text = _written([row])
    parsed = list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))
    assert parsed[1][1] == f"'{start}cmd|' /C calc'!A0"
    assert parsed[1][11] == f"'{start}x"


def test_column_check_rewrites_only_columns_that_need_it():
    clean = ["A1", "B2"]
    assert quoted_column(clean) is clean
    assert quoted_column(["A1", 'x"y', "=1"]) == ["A1", 'x""y', "'=1"]
    assert neutralise("-5") == "'-5"
    assert neutralise("") == ""


@pytest.mark.parametrize(
    ("separator", "expected"),
    [("", "1234567"), (".", "1.234.567"), ("'", "1'234'567"), (",", "1,234,567")],
)
def test_numbers_carry_the_users_thousands_separator(separator, expected):
    text = _written([wmbus_row(key_version=1234567)], delimiter=";", thousands=separator)
    assert text.rstrip("\r\n").endswith(f'"{expected}"')


def test_bad_options_and_rows_without_key_or_check_value_are_refused():
    with pytest.raises(ValueError, match="delimiter"):
        _written([wmbus_row()], delimiter=":")
    with pytest.raises(ValueError, match="thousands"):
        _written([wmbus_row()], thousands="_")
    row = wmbus_row()
    row.check_value = ""
    with pytest.raises(ExportFormatError) as problem:
        _written([row])
    assert row.key.hex().upper()[:8] not in str(problem.value)


def test_rows_are_written_in_chunks_and_counted():
    out = io.BytesIO()
    assert write_csv((wmbus_row(serial=f"S{i}") for i in range(4500)), out) == 4500
    assert out.getvalue().count(b"\r\n") == 4501
