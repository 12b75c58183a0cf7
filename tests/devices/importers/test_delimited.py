import pytest

from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import ImportLimits, parse_csv, parse_tts_csv
from meterkms.devices.importers.delimited import sniff_delimiter
from meterkms.vault.algorithms import Algorithm
from tests.devices.importers.parsing import errors, fatal, random_key, records, run, warnings

KEY1, KEY2, KEY3 = random_key(), random_key(), random_key()


def _csv(*lines: str, end: str = "\r\n") -> str:
    return end.join(lines) + end


def test_rows_become_records_with_normalised_fields():
    data = _csv(
        "serial;manufacturer;meter_address;version;medium;key",
        f"0012;amt;00000001;01;07;{KEY1.lower()}",
    )
    [record] = records(run(parse_csv, data))
    assert (record.line, record.serial, record.manufacturer) == (2, "0012", "AMT")
    assert (record.meter_address, record.version, record.medium) == ("00000001", 1, 7)
    assert record.keys[KeySlot.OMS].hex == KEY1


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed_from_the_header(delimiter):
    data = _csv(delimiter.join(["serial", "key"]), delimiter.join(["A1", KEY1]))
    [record] = records(run(parse_csv, data))
    assert record.keys[KeySlot.OMS].hex == KEY1


def test_sniffing_prefers_the_most_frequent_candidate():
    assert sniff_delimiter("serial;device type, name;key") == ";"
    assert sniff_delimiter("serial") == ","


@pytest.mark.parametrize("header", ["Serial Number", "serial_number", "Seriennummer", "SN"])
def test_serial_aliases_are_recognised(header):
    [record] = records(run(parse_csv, _csv(f"{header};AES Key", f"A1;{KEY1}")))
    assert record.serial == "A1"


def test_explicit_mapping_beats_aliases_and_can_ignore_columns():
    data = _csv("Nr;Geheim;serial", f"A1;{KEY1};junk")
    mapping = {"nr": "serial", "GEHEIM": "key", "serial": ""}
    [record] = records(run(parse_csv, data, mapping=mapping))
    assert (record.serial, record.keys[KeySlot.OMS].hex) == ("A1", KEY1)


def test_utf8_bom_is_accepted_and_not_part_of_the_first_header():
    data = "\ufeff" + _csv("serial;key", f"A1;{KEY1}")
    assert [r.serial for r in records(run(parse_csv, data))] == ["A1"]


def test_mixed_line_endings_and_missing_final_newline_give_right_line_numbers():
    data = f"serial;key\r\nA1;{KEY1}\nA2;{KEY2}\rA3;{KEY3}"
    assert [(r.line, r.serial) for r in records(run(parse_csv, data))] == [
        (2, "A1"),
        (3, "A2"),
        (4, "A3"),
    ]


def test_quoted_fields_with_delimiters_quotes_and_line_breaks():
    data = _csv(
        "serial;device_type;key",
        f'"A1";"Meter ""X""; big";"{KEY1}"',
        'A2;"two\r\nlines";bad!',
        f"A3;;{KEY3}",
    )
    items = run(parse_csv, data)
    assert [(r.line, r.serial) for r in records(items)] == [(2, "A1"), (5, "A3")]
    assert records(items)[0].device_type == 'Meter "X"; big'
    # the line break inside the quoted type is a control character in a name
    assert {(e.line, e.field) for e in errors(items)} == {(3, "key"), (3, "device_type")}


def test_empty_file_and_header_only_file():
    assert [e.message for e in fatal(run(parse_csv, b""))] == ["the file is empty"]
    assert [e.message for e in fatal(run(parse_csv, "\r\n\n"))] == ["the file is empty"]
    assert run(parse_csv, "serial;key\r\n") == []


def test_missing_serial_column_stops_with_the_names_it_knows():
    [problem] = fatal(run(parse_csv, _csv("name;key", f"A1;{KEY1}")))
    assert "serial" in problem.message
    assert problem.line == 1


def test_duplicate_serials_are_reported_with_both_line_numbers():
    data = _csv("serial;key", f"A1;{KEY1}", f"A2;{KEY2}", f"A1;{KEY3}")
    items = run(parse_csv, data)
    [problem] = errors(items)
    assert problem.line == 4
    assert "line 2" in problem.message
    assert [r.serial for r in records(items)] == ["A1", "A2"]


def test_duplicate_detection_can_be_left_to_the_caller():
    data = _csv("serial;key", f"A1;{KEY1}", f"A1;{KEY2}")
    assert len(records(run(parse_csv, data, detect_duplicates=False))) == 2


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_formula_trigger_in_a_text_field_is_an_error(start):
    items = run(parse_csv, _csv("serial;device_type;key", f"A1;{start}SUM(A1);{KEY1}"))
    [problem] = errors(items)
    assert problem.field == "device_type"
    assert records(items) == []


def test_key_errors_name_the_column_but_never_the_key():
    bad = KEY1[:-1] + "Z"
    items = run(parse_csv, _csv("serial;app_key", f"A1;{bad}"))
    [problem] = errors(items)
    assert problem.field == "app_key"
    assert KEY1[:8] not in str(problem)
    assert bad not in str(problem)


def test_unknown_columns_are_warnings_that_do_not_block():
    items = run(parse_csv, _csv("serial;Order No;key", f"A1;42;{KEY1}"))
    [warning] = warnings(items)
    assert warning.field == "column 2 (Order No)"
    assert len(records(items)) == 1


def test_a_header_that_looks_like_a_key_is_not_echoed():
    items = run(parse_csv, _csv(f"serial;{KEY1}", f"A1;{KEY2}"))
    [warning] = warnings(items)
    assert warning.field == "column 2"


def test_rows_with_more_fields_than_the_header_are_errors():
    items = run(parse_csv, _csv("serial;key", f"A1;{KEY1};extra"))
    [problem] = errors(items)
    assert "3 fields" in problem.message


def test_slot_rows_of_one_device_are_merged_and_conflicts_reported():
    data = _csv(
        "serial;dev_eui;slot;algorithm;key;kcv",
        f"L1;70B3D57ED0000001;AppKey;AES128;{KEY1};ABCDEF",
        f"L1;70B3D57ED0000001;NwkKey;;{KEY2};",
        f"L2;70B3D57ED0000002;AppKey;;{KEY3};",
        f"L2;70B3D57ED0000003;NwkKey;;{KEY3};",
    )
    items = run(parse_csv, data)
    [first, second] = records(items)
    assert set(first.keys) == {KeySlot.LORAWAN_APPKEY, KeySlot.LORAWAN_NWKKEY}
    assert first.keys[KeySlot.LORAWAN_APPKEY].algorithm is Algorithm.AES128
    assert first.keys[KeySlot.LORAWAN_APPKEY].check_value == "ABCDEF"
    assert second.serial == "L2"
    [problem] = errors(items)
    assert (problem.line, problem.field) == (5, "dev_eui")


def test_undecodable_bytes_stop_with_their_line_and_advice():
    data = b"serial;key\r\nA1;" + KEY1.encode() + b"\r\nM\xfcller;x\r\n"
    items = run(parse_csv, data)
    [problem] = fatal(items)
    assert problem.line == 3
    assert "UTF-8" in problem.message
    assert "cp1252" in problem.message


def test_cp1252_is_read_when_chosen():
    data = "serial;device_type;key\r\nA1;Zähler;".encode("cp1252") + KEY1.encode()
    [record] = records(run(parse_csv, data, encoding="cp1252"))
    assert record.device_type == "Zähler"


def test_utf16_file_is_refused_with_advice():
    data = "serial;key\r\nA1;00\r\n".encode("utf-16")
    [problem] = fatal(run(parse_csv, data))
    assert "UTF-16" in problem.message


def test_file_size_limit_stops_early():
    data = _csv("serial;key", *(f"A{i};{KEY1}" for i in range(200)))
    items = run(parse_csv, data, limits=ImportLimits(max_bytes=1000))
    [problem] = fatal(items)
    assert "larger than the limit" in problem.message


def test_row_limit_stops_at_the_first_row_too_many():
    data = _csv("serial;key", *(f"A{i};{KEY1}" for i in range(10)))
    items = run(parse_csv, data, limits=ImportLimits(max_rows=5))
    [problem] = fatal(items)
    assert problem.line == 7
    assert len(records(items)) <= 5


def test_field_and_line_length_limits():
    long_text = "x" * 50
    items = run(
        parse_csv,
        _csv("serial;device_type", f"A1;{long_text}"),
        limits=ImportLimits(max_field_chars=20),
    )
    assert "longer than 20" in errors(items)[0].message
    items = run(
        parse_csv,
        _csv("serial;device_type", f"A1;{long_text}"),
        limits=ImportLimits(max_line_chars=30),
    )
    assert fatal(items)[0].line == 2


def test_unclosed_quote_is_a_fatal_error_not_a_hang():
    items = run(parse_csv, _csv("serial;key", '"A1;' + KEY1, "A2;00"))
    assert fatal(items) or errors(items)


def test_tts_csv_takes_dev_eui_as_serial_and_requires_its_columns():
    data = _csv(
        "dev_eui;app_eui;frequency_plan_id;lorawan_version;app_key;f_nwk_s_int_key",
        f"70B3D57ED0000001;70B3D57ED0000000;EU_863_870_TTN;MAC_V1_0_4;{KEY1};{KEY2}",
        "70B3D57ED0000002;;EU_863_870_TTN;MAC_V1_0_4;;",
    )
    items = run(parse_tts_csv, data)
    [record] = records(items)
    assert record.serial == record.dev_eui == "70B3D57ED0000001"
    assert record.lorawan_version == "1.0.4"
    assert record.keys[KeySlot.LORAWAN_NWKSKEY].hex == KEY2  # 1.0.x naming
    assert {(e.line, e.field) for e in errors(items)} == {(3, "app_eui"), (3, "app_key")}
    assert warnings(items) == []


def test_tts_csv_without_its_required_columns_stops():
    [problem] = fatal(run(parse_tts_csv, _csv("dev_eui;app_key", f"70B3D57ED0000001;{KEY1}")))
    assert "join_eui" in problem.message


def test_too_many_header_columns_stop_at_the_header():
    header = ";".join(["serial"] + [f"c{i}" for i in range(10)])
    [stop] = fatal(run(parse_csv, _csv(header, "A1"), limits=ImportLimits(max_columns=5)))
    assert stop.line == 1


def test_large_clean_file_keeps_every_row_in_order():
    data = _csv("serial;key", *(f"S{i:05d};{KEY1}" for i in range(3000)))
    found = records(run(parse_csv, data))
    assert [r.line for r in found] == list(range(2, 3002))
