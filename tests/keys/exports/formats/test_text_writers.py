import csv
import io

import pytest

from meterkms.devices.enums import KeySlot
from meterkms.keys.exports.formats import (
    ExportFormatError,
    write_key_list,
    write_tts_csv,
    write_wmbusmeters,
)
from tests.keys.exports.formats.factories import lora_row, wmbus_row


def _text(writer, rows, **options) -> str:
    out = io.BytesIO()
    writer(rows, out, **options)
    return out.getvalue().decode("utf-8")


def test_tts_csv_has_no_bom_and_one_line_per_device():
    rows = [
        lora_row("L1", KeySlot.LORAWAN_APPKEY, "1.1"),
        lora_row("L1", KeySlot.LORAWAN_NWKKEY, "1.1"),
        lora_row("L2", dev_eui="70B3D57ED0000002"),
    ]
    text = _text(write_tts_csv, rows)
    assert text.startswith("id;dev_eui;join_eui;")
    table = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [line["serial"] for line in table] == ["L1", "L2"]
    assert table[0]["lorawan_version"] == "MAC_V1_1"
    assert table[0]["nwk_key"] == rows[1].key.hex().upper()
    assert table[1]["app_key_kcv"] == "C3D4E5"
    assert "frequency_plan_id" not in table[0]


def test_tts_csv_session_keys_only_when_asked_for():
    row = lora_row("A1", KeySlot.LORAWAN_APPSKEY, dev_addr="26012E43")
    with pytest.raises(ExportFormatError):
        _text(write_tts_csv, [row])
    table = list(
        csv.DictReader(io.StringIO(_text(write_tts_csv, [row], session_keys=True)), delimiter=";")
    )
    assert table[0]["dev_addr"] == "26012E43"
    assert table[0]["app_s_key"] == row.key.hex().upper()


def test_key_list_lines_with_and_without_check_value():
    row = wmbus_row("W1")
    assert _text(write_key_list, [row]) == f"AMT;W1;{row.key.hex().upper()};A1B2C3\r\n"
    plain = _text(write_key_list, [row], check_values=False, id_field="meter_address")
    assert plain == f"AMT;12345678;{row.key.hex().upper()}\r\n"


def test_key_list_neutralises_and_refuses_lorawan_keys():
    row = wmbus_row("W1", manufacturer="=AB")
    assert _text(write_key_list, [row]).startswith("'=AB;")
    with pytest.raises(ExportFormatError):
        _text(write_key_list, [lora_row()])


def test_wmbusmeters_blocks():
    row = wmbus_row("MyTapWater")
    assert _text(write_wmbusmeters, [row]) == (
        f"name=MyTapWater\ndriver=auto\nid=12345678\nkey={row.key.hex().upper()}\n#kcv=A1B2C3\n\n"
    )
    with pytest.raises(ExportFormatError, match="meter address"):
        _text(write_wmbusmeters, [wmbus_row(meter_address=None)])
