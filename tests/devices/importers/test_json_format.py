import json

from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import ImportLimits, parse_json, parse_tts_json
from meterkms.vault.algorithms import Algorithm
from tests.devices.importers.parsing import errors, fatal, random_key, records, run, warnings

KEY1, KEY2 = random_key(), random_key()


def test_array_of_device_objects_with_nested_keys():
    data = json.dumps(
        [
            {
                "serial": "A1",
                "man": "amt",
                "meter_address": "12345678",
                "medium": 7,
                "version": "0x1b",
                "labels": ["north", "south"],
                "keys": [{"slot": "OMS", "algorithm": "AES-128", "key": KEY1, "kcv": "abcdef"}],
            },
            {"serial": "A2", "keys": {"AppKey": KEY2}},
        ]
    )
    first, second = records(run(parse_json, data))
    assert (first.manufacturer, first.medium, first.version) == ("AMT", 7, 27)
    assert first.labels == ("north", "south")
    assert first.keys[KeySlot.OMS].algorithm is Algorithm.AES128
    assert first.keys[KeySlot.OMS].check_value == "ABCDEF"
    assert second.keys[KeySlot.LORAWAN_APPKEY].hex == KEY2


def test_json_lines_report_the_line_of_each_object():
    data = f'{{"serial": "A1", "key": "{KEY1}"}}\n\n{{"serial": "A2", "key": "xx"}}\n'
    items = run(parse_json, data)
    assert [r.line for r in records(items)] == [1]
    assert [(e.line, e.field) for e in errors(items)] == [(3, "key")]


def test_numbers_for_identifiers_are_refused_but_bytes_may_be_numbers():
    data = json.dumps([{"serial": 12345678, "medium": 300, "key": KEY1}])
    fields = {e.field for e in errors(run(parse_json, data))}
    assert fields == {"serial", "medium"}


def test_non_object_elements_and_unknown_fields():
    items = run(parse_json, json.dumps([5, {"serial": "A1", "colour": "red"}]))
    assert errors(items)[0].message == "expected a JSON object for each device"
    assert [w.field for w in warnings(items)] == ["colour"]
    assert len(records(items)) == 1


def test_truncated_json_keeps_earlier_findings_and_stops():
    data = '[{"serial": "A1", "key": "' + KEY1 + '"},\n{"serial": "A2", "key'
    items = run(parse_json, data)
    assert [r.serial for r in records(items)] == ["A1"]
    [stop] = fatal(items)
    assert stop.line == 2


def test_deep_nesting_and_oversized_objects_stop_cleanly():
    assert fatal(run(parse_json, "[" * 100_000))
    big = json.dumps([{"serial": "A1", "device_type": "x" * 5000}])
    [stop] = fatal(run(parse_json, big, limits=ImportLimits(max_json_object_chars=1000)))
    assert "longer than" in stop.message


def test_tts_json_stream_with_root_and_session_keys():
    device = {
        "ids": {"device_id": "d1", "dev_eui": "70B3D57ED0000001", "join_eui": "70B3D57ED0000000"},
        "lorawan_version": "MAC_V1_1",
        "root_keys": {"app_key": {"key": KEY1}, "nwk_key": {"key": KEY2}},
        "attributes": {"serial": "SN-1", "app-key-kcv": "A1B2C3"},
    }
    data = json.dumps(device, indent=2) + "\n" + json.dumps(device | {"attributes": {}})
    items = run(parse_tts_json, data)
    first, second = records(items)
    assert first.serial == "SN-1"
    assert first.keys[KeySlot.LORAWAN_NWKKEY].hex == KEY2
    assert first.keys[KeySlot.LORAWAN_APPKEY].check_value == "A1B2C3"
    assert second.serial == "70B3D57ED0000001"
    assert second.line == json.dumps(device, indent=2).count("\n") + 2


def test_tts_json_with_wrapped_keys_says_so():
    device = {
        "ids": {"dev_eui": "70B3D57ED0000001", "join_eui": "70B3D57ED0000000"},
        "root_keys": {"app_key": {"encrypted_key": "AAAA", "kek_label": "k"}},
    }
    problems = errors(run(parse_tts_json, json.dumps(device)))
    assert any("wrapped" in p.message for p in problems)


def test_objects_with_a_slot_field_merge_like_csv_rows():
    lines = [
        {"serial": "L1", "dev_eui": "70B3D57ED0000001", "slot": "AppKey", "key": KEY1},
        {"serial": "L1", "dev_eui": "70B3D57ED0000001", "slot": "NwkKey", "key": KEY2},
        {"serial": "L2", "slot": "AppKey", "key": KEY1},
    ]
    data = "\n".join(json.dumps(line) for line in lines)
    first, second = records(run(parse_json, data))
    assert set(first.keys) == {KeySlot.LORAWAN_APPKEY, KeySlot.LORAWAN_NWKKEY}
    assert second.serial == "L2"


def test_many_flat_objects_go_through_in_batches_with_the_right_lines():
    data = "\n".join(json.dumps({"serial": f"S{i}", "oms_key": KEY1}) for i in range(1000))
    found = records(run(parse_json, data))
    assert [r.line for r in found] == list(range(1, 1001))
    assert len({r.serial for r in found}) == 1000


def test_objects_without_a_serial_are_errors_and_empty_objects_are_blank_rows():
    items = run(parse_json, json.dumps([{}, {"manufacturer": "AMT"}, {"serial": "A1"}]))
    assert [(e.line, e.message) for e in errors(items)] == [(1, "the serial number is missing")]
    assert [r.serial for r in records(items)] == ["A1"]


def test_tts_json_accepts_app_eui_for_the_join_eui():
    device = {
        "ids": {"dev_eui": "70B3D57ED0000001", "app_eui": "70B3D57ED0000000"},
        "root_keys": {"app_key": {"key": KEY1}},
    }
    [record] = records(run(parse_tts_json, json.dumps(device)))
    assert record.join_eui == "70B3D57ED0000000"


def test_slot_objects_around_a_run_of_flat_objects_keep_duplicates_visible():
    lines = [
        {"serial": "A", "slot": "AppKey", "key": KEY1},
        {"serial": "B", "app_key": KEY1},
        {"serial": "A", "slot": "NwkKey", "key": KEY2},
    ]
    items = run(parse_json, "\n".join(json.dumps(line) for line in lines))
    assert [r.serial for r in records(items)] == ["A", "B"]
    [problem] = errors(items)
    assert (problem.line, problem.message) == (
        3,
        "duplicate serial number: it is already on line 1",
    )
