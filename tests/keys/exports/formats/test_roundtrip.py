"""parse(write(rows)) gives back serials and keys byte for byte, for every format that has a
writer and a parser; a file with one invalid row is rejected by the parser."""

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import PARSERS, DeviceRecord, RecordError
from meterkms.keys.exports.formats import WRITERS, ExportRow
from meterkms.vault.algorithms import Algorithm

SERIAL = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,20}", fullmatch=True)
KEY16 = st.binary(min_size=16, max_size=16)
MBUS_KEY = st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
KCV = st.binary(min_size=3, max_size=3).map(lambda b: b.hex().upper())
EUI = st.binary(min_size=8, max_size=8).map(lambda b: b.hex().upper())
ADDRESS = st.integers(0, 99_999_999).map(lambda n: f"{n:08d}")
TEXT = st.text(st.characters(categories=["L", "N", "Zs"]), max_size=12).map(str.strip)


@st.composite
def wmbus_device(draw, slot_choice=(KeySlot.OMS,)):
    slot = draw(st.sampled_from(slot_choice))
    key = draw(MBUS_KEY) if slot is KeySlot.MBUS else draw(KEY16)
    return [
        ExportRow(
            draw(SERIAL),
            slot,
            Algorithm.AES128 if len(key) == 16 else Algorithm.AES256,
            key,
            draw(KCV),
            device_type=draw(TEXT),
            manufacturer=draw(st.from_regex(r"[A-Z]{3}", fullmatch=True)),
            meter_address=draw(ADDRESS),
            version=draw(st.none() | st.integers(0, 255)),
            medium=draw(st.none() | st.integers(0, 255)),
        )
    ]


@st.composite
def lora_device(draw):
    version = draw(st.sampled_from(["1.0.2", "1.0.4", "1.1"]))
    slots = [KeySlot.LORAWAN_APPKEY] + ([KeySlot.LORAWAN_NWKKEY] if version == "1.1" else [])
    serial, dev_eui, join_eui = draw(SERIAL), draw(EUI), draw(EUI)
    return [
        ExportRow(
            serial,
            slot,
            Algorithm.AES128,
            draw(KEY16),
            draw(KCV),
            dev_eui=dev_eui,
            join_eui=join_eui,
            lorawan_version=version,
        )
        for slot in slots
    ]


def _unique(devices):
    """Devices with distinct serials and DevEUIs (a file never repeats them)."""
    seen, kept = set(), []
    for device in devices:
        names = {device[0].serial, device[0].dev_eui} - {None}
        if not names & seen:
            seen |= names
            kept.append(device)
    return [row for device in kept for row in device]


ROWS = {
    "csv": st.lists(
        wmbus_device((KeySlot.OMS, KeySlot.MBUS)) | lora_device(), min_size=1, max_size=8
    ),
    "xlsx": st.lists(wmbus_device() | lora_device(), min_size=1, max_size=4),
    "json": st.lists(
        wmbus_device((KeySlot.OMS, KeySlot.MBUS)) | lora_device(), min_size=1, max_size=8
    ),
    "tts-csv": st.lists(lora_device(), min_size=1, max_size=8),
    "tts-json": st.lists(lora_device(), min_size=1, max_size=8),
    "keylist": st.lists(wmbus_device(), min_size=1, max_size=8),
    "wmbusmeters": st.lists(wmbus_device(), min_size=1, max_size=8),
}
ROUND_TRIP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _round_trip(name: str, rows: list[ExportRow]) -> list:
    out = io.BytesIO()
    WRITERS[name](rows, out)
    return list(PARSERS[name](io.BytesIO(out.getvalue())))


#: Formats that carry the wM-Bus meter address (MAN;SERIAL;KEY carries only the serial).
CARRY_ADDRESS = {"csv", "xlsx", "json", "wmbusmeters"}


@pytest.mark.parametrize("name", sorted(ROWS))
@ROUND_TRIP
@given(data=st.data())
def test_serials_and_keys_come_back_byte_for_byte(name, data):
    rows = _unique(data.draw(ROWS[name]))
    items = _round_trip(name, rows)
    problems = [i for i in items if isinstance(i, RecordError) and i.blocking]
    assert problems == []
    records = [i for i in items if isinstance(i, DeviceRecord)]
    got = {
        (r.serial, slot, key.value, key.check_value)
        for r in records
        for slot, key in r.keys.items()
    }
    assert got == {(r.serial, r.slot, r.key, r.check_value) for r in rows}
    if name in CARRY_ADDRESS:
        for record in records:
            source = next(row for row in rows if row.serial == record.serial)
            assert record.meter_address == source.meter_address


@pytest.mark.parametrize("name", sorted(ROWS))
@ROUND_TRIP
@given(data=st.data())
def test_one_invalid_row_is_reported_so_the_file_is_rejected(name, data):
    rows = _unique(data.draw(ROWS[name]))
    out = io.BytesIO()
    WRITERS[name](rows, out)
    text = out.getvalue()
    victim = rows[data.draw(st.integers(0, len(rows) - 1))].key.hex().upper().encode()
    broken = text.replace(victim, victim[:-1] + b"Q", 1) if victim in text else None
    if name == "xlsx":
        return  # a ZIP cannot be edited in place; the XLSX parser's checks are tested apart
    items = list(PARSERS[name](io.BytesIO(broken)))
    assert any(isinstance(i, RecordError) and i.blocking for i in items)
