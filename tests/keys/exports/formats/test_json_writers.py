import io
import json

import pytest

from meterkms.devices.enums import KeySlot
from meterkms.keys.exports.formats import (
    ExportFormatError,
    write_chirpstack,
    write_json,
    write_tts_json,
)
from tests.keys.exports.formats.factories import lora_row, wmbus_row


def _out(writer, rows, **options) -> bytes:
    out = io.BytesIO()
    writer(rows, out, **options)
    return out.getvalue()


def test_generic_json_has_one_object_per_device_with_its_keys():
    rows = [
        lora_row("L1", KeySlot.LORAWAN_APPKEY, "1.1"),
        lora_row("L1", KeySlot.LORAWAN_NWKKEY, "1.1"),
        wmbus_row("W1", labels=("north",)),
    ]
    devices = json.loads(_out(write_json, rows))
    assert [d["serial"] for d in devices] == ["L1", "W1"]
    assert [k["slot"] for k in devices[0]["keys"]] == ["AppKey", "NwkKey"]
    assert devices[1]["manufacturer"] == "AMT"
    assert devices[1]["meter_address"] == "12345678"
    assert devices[1]["keys"][0] == {
        "slot": "OMS",
        "algorithm": "AES128",
        "key": rows[2].key.hex().upper(),
        "kcv": "A1B2C3",
        "version": None,
    }


def test_two_keys_for_one_slot_of_a_device_are_refused():
    with pytest.raises(ExportFormatError, match="same slot"):
        _out(write_json, [wmbus_row("W1"), wmbus_row("W1")])


def test_tts_json_objects_carry_ids_keys_and_check_values_in_attributes():
    rows = [lora_row("SN-1", version="1.0.2")]
    text = _out(
        write_tts_json,
        rows,
        frequency_plan_id="EU_863_870_TTN",
        lorawan_phy_version="PHY_V1_0_2_REV_B",
    )
    [device] = [json.loads(line) for line in text.decode().splitlines()]
    assert device["ids"] == {
        "device_id": "eui-70b3d57ed0000001",
        "dev_eui": "70B3D57ED0000001",
        "join_eui": "70B3D57ED0000000",
    }
    assert device["lorawan_version"] == "MAC_V1_0_2"
    assert device["frequency_plan_id"] == "EU_863_870_TTN"
    assert device["root_keys"] == {"app_key": {"key": rows[0].key.hex().upper()}}
    assert device["attributes"] == {"serial": "SN-1", "app-key-kcv": "C3D4E5"}


def test_tts_json_refuses_wmbus_keys_and_devices_without_euis():
    with pytest.raises(ExportFormatError, match="OMS"):
        _out(write_tts_json, [wmbus_row()])
    with pytest.raises(ExportFormatError, match="DevEUI"):
        _out(write_tts_json, [lora_row(dev_eui=None)])


def test_chirpstack_puts_the_lorawan_10_appkey_into_nwk_key():
    row = lora_row("L1", version="1.0.3")
    [entry] = json.loads(_out(write_chirpstack, [row]))
    assert entry["device_keys"]["nwk_key"] == row.key.hex().upper()
    assert entry["device_keys"]["app_key"] == "0" * 32
    assert entry["device"]["name"] == "L1"
    assert entry["kcv"] == {"AppKey": "C3D4E5"}


def test_chirpstack_lorawan_11_keeps_both_root_keys_in_place():
    app = lora_row("L2", KeySlot.LORAWAN_APPKEY, "1.1")
    nwk = lora_row("L2", KeySlot.LORAWAN_NWKKEY, "1.1")
    [entry] = json.loads(_out(write_chirpstack, [app, nwk]))
    assert entry["device_keys"]["app_key"] == app.key.hex().upper()
    assert entry["device_keys"]["nwk_key"] == nwk.key.hex().upper()
    with pytest.raises(ExportFormatError, match=r"1\.1 needs"):
        _out(write_chirpstack, [app])
