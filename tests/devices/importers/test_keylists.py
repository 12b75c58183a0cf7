from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import parse_key_list, parse_wmbusmeters
from tests.devices.importers.parsing import errors, fatal, random_key, records, run

KEY1, KEY2, KEY3 = random_key(), random_key(), random_key()


def test_man_serial_key_lines_with_optional_fields_and_header():
    data = f"MAN;SERIAL;KEY\nAMT;12345678;{KEY1}\n# note\n\nS-2;{KEY2}\n{KEY3}\n"
    first, second, third = records(run(parse_key_list, data))
    assert (first.manufacturer, first.serial, first.meter_address) == (
        "AMT",
        "12345678",
        "12345678",
    )
    assert (second.serial, second.meter_address) == ("S-2", None)
    assert third.serial is None
    assert third.keys[KeySlot.OMS].hex == KEY3


def test_fourth_field_is_the_check_value_and_more_fields_are_errors():
    items = run(parse_key_list, f"AMT,12345678,{KEY1},abc123\nA;B;C;D;E\n")
    assert records(items)[0].keys[KeySlot.OMS].check_value == "ABC123"
    assert errors(items)[0].line == 2


def test_key_list_duplicates_and_empty_file():
    items = run(parse_key_list, f"AMT;12345678;{KEY1}\nAMT;12345678;{KEY2}\n")
    assert "line 1" in errors(items)[0].message
    assert run(parse_key_list, "# nothing\n")[0].message == "the file holds no keys"
    assert fatal(run(parse_key_list, b""))


def test_wmbusmeters_blocks_split_on_blank_lines_and_second_names():
    data = (
        f"name=MyTapWater\ndriver=multical21\nid=12345678\nkey={KEY1}\n#kcv=abcdef\n"
        f"name=Heat\nid=87654321\nkey=NOKEY\n\n"
        f"driver=auto\nid=11223344\nkey={KEY2}\nshell=echo x\n"
    )
    first, second, third = records(run(parse_wmbusmeters, data))
    assert (first.line, first.serial, first.meter_address) == (1, "MyTapWater", "12345678")
    assert first.keys[KeySlot.OMS].check_value == "ABCDEF"
    assert second.keys == {}
    assert (third.line, third.serial) == (10, "11223344")


def test_wmbusmeters_bad_id_and_garbage_lines():
    items = run(parse_wmbusmeters, f"name=X\nid=1234*\nkey={KEY1}\nnot a setting\n")
    assert {(e.line, e.field) for e in errors(items)} == {(1, "id"), (4, None)}
