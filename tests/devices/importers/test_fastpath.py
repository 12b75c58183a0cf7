from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterkms.devices.importers.assembler import NumberPolicy
from meterkms.devices.importers.base import DEFAULT_OPTIONS
from meterkms.devices.importers.columns import plan_columns
from meterkms.devices.importers.fastpath import fast_batch
from meterkms.devices.importers.profiles import GENERIC, TTS

HEADERS = [
    ["serial", "manufacturer", "meter_address", "medium", "key"],
    ["serial", "device_type", "dev_eui", "join_eui", "lorawan_version", "app_key", "app_key_kcv"],
    ["serial", "labels", "version", "oms_key", "mbus_key", "radio_address"],
    ["manufacturer", "key"],  # JSON objects may come without a serial
]

# Cells that are valid for some column, invalid for others, or need stripping.
CELL = st.sampled_from(
    [
        "",
        " ",
        "A1",
        "A2",
        "0001",
        "amt",
        "AMT",
        "12345678",
        "07",
        "0x1b",
        "1.0.4",
        "MAC_V1_1",
        "70B3D57ED0000001",
        "70b3d57ed0000002",
        "00112233445566778899aabbccddeeff",
        "00112233445566778899AABBCCDDEEF",
        " 0011 ",
        "ABCDEF",
        "TOPAS Lora",
        "north,south",
        "=1+1",
        "x\ny",
    ]
)


KEY = st.binary(min_size=8, max_size=32).map(bytes.hex)
VALID = {
    "serial": st.integers(0, 30).map(lambda n: f"S{n:03d}"),
    "manufacturer": st.sampled_from(["AMT", "amt", "KAM"]),
    "meter_address": st.sampled_from(["12345678", "00000001"]),
    "medium": st.sampled_from(["07", "0x1b", "7", "FF"]),
    "version": st.sampled_from(["01", "", "0x02"]),
    "key": KEY,
    "app_key": KEY | KEY.map(str.upper),
    "oms_key": KEY | st.just(""),
    "mbus_key": KEY | st.just(""),
    "device_type": st.sampled_from(["TOPAS Lora", "", "x"]),
    "dev_eui": st.sampled_from(["70B3D57ED0000001", "70b3d57ed0000002"]),
    "join_eui": st.sampled_from(["70B3D57ED0000000", ""]),
    "lorawan_version": st.sampled_from(["1.0.4", "MAC_V1_1", ""]),
    "app_key_kcv": st.sampled_from(["ABCDEF", "", "abc123"]),
    "labels": st.sampled_from(["north,south", "", "a"]),
    "radio_address": st.sampled_from(["12345678", ""]),
}


def _cells(header, clean):
    if clean:
        return st.tuples(*(VALID[name] for name in header)).map(list)
    return st.tuples(*(VALID[name] | CELL for name in header)).map(list)


def _both_paths(profile, header, rows, seen_before):
    plan = plan_columns(header, line=1, aliases=profile.aliases, required=())
    fast = profile.assembler(DEFAULT_OPTIONS, NumberPolicy.SPREADSHEET)
    slow = profile.assembler(DEFAULT_OPTIONS, NumberPolicy.SPREADSHEET)
    for assembler in (fast, slow):
        assembler.seen.update(seen_before)
    lines = list(range(2, 2 + len(rows)))
    fast_items = fast_batch(fast, lines, rows, plan.columns, len(header))
    slow_items = []
    for line, row in zip(lines, rows, strict=True):
        slow_items.extend(slow.add(line, row, plan.columns))
    slow_items.extend(slow.finish())
    return fast_items, slow_items, fast, slow


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from(HEADERS),
    data=st.data(),
    seen_before=st.dictionaries(st.sampled_from(["A1", "A2", "B7"]), st.integers(1, 9)),
    tts=st.booleans(),
)
def test_fast_path_yields_exactly_what_the_row_path_yields(header, data, seen_before, tts):
    clean = data.draw(st.booleans())
    rows = data.draw(st.lists(_cells(header, clean), max_size=6))
    profile = TTS if tts and "dev_eui" in header else GENERIC
    fast_items, slow_items, fast, slow = _both_paths(profile, header, rows, seen_before)
    if fast_items is None:
        return  # the batch took the row path
    assert fast_items == slow_items
    assert fast.seen == slow.seen
    assert fast.rows == slow.rows
    assert fast._last_serial == slow._last_serial


def test_clean_batches_take_the_fast_path():
    header = HEADERS[0]
    rows = [[f"S{i}", "AMT", f"{i:08d}", "07", "00" * 16] for i in range(50)]
    fast_items, slow_items, _, _ = _both_paths(GENERIC, header, rows, {})
    assert fast_items is not None
    assert fast_items == slow_items


def test_a_cell_with_a_line_break_never_passes_as_two_cells():
    header = HEADERS[0]
    rows = [["x\ny", "AMT", "12345678", "07", "00" * 8]]
    fast_items, slow_items, _, _ = _both_paths(GENERIC, header, rows, {})
    assert fast_items is None
    assert slow_items[0].field == "serial"
