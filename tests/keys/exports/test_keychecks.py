"""Packed key check values: the same entries, checks and JSON as one object per entry."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.devices.enums import SLOT_ALGORITHMS, KeySlot
from meterkms.keys.exports.formats.cells import byte_hex
from meterkms.keys.exports.keychecks import KeyCheck, KeyCheckList, ManifestError, entry_json
from meterkms.vault.algorithms import Algorithm

PAIRS = [
    (slot, algorithm) for slot, algorithms in SLOT_ALGORITHMS.items() for algorithm in algorithms
]
devices = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20
)
entries = st.lists(
    st.tuples(devices, st.sampled_from(PAIRS), st.from_regex(r"[0-9A-F]{6}", fullmatch=True)),
    max_size=40,
    unique_by=lambda entry: (entry[0], entry[1][0]),
)


def _checks(items: list[tuple[str, tuple[KeySlot, Algorithm], str]]) -> list[KeyCheck]:
    return [KeyCheck(device, slot, algorithm, kcv) for device, (slot, algorithm), kcv in items]


@settings(max_examples=200, deadline=None)
@given(items=entries)
def test_the_packed_list_holds_exactly_the_entries_and_their_json(items: list) -> None:
    checks = _checks(items)
    packed = KeyCheckList(checks)
    assert list(packed) == checks
    assert len(packed) == len(checks)
    assert packed.device_count == len({check.device for check in checks})
    assert list(packed.json_texts()) == [
        json.dumps(check.as_json(), ensure_ascii=False) for check in checks
    ]
    if checks:
        assert packed[-1] == checks[-1]
        assert packed[0] == checks[0]


@settings(max_examples=200, deadline=None)
@given(items=entries)
def test_extend_takes_the_same_entries_as_append(items: list) -> None:
    ordered = sorted(items, key=lambda entry: entry[0])
    by_entry = KeyCheckList(_checks(ordered))
    batched = KeyCheckList()
    half = len(ordered) // 2
    for part in (ordered[:half], ordered[half:]):
        batched.extend(
            [device for device, _pair, _kcv in part],
            [pair[0].value for _device, pair, _kcv in part],
            [pair[1].value for _device, pair, _kcv in part],
            [kcv for _device, _pair, kcv in part],
        )
    assert batched == by_entry
    assert batched.device_count == by_entry.device_count


def test_a_device_and_slot_twice_is_refused_in_order_and_out_of_order() -> None:
    packed = KeyCheckList()
    packed.append("A", KeySlot.OMS, Algorithm.AES128, "000001")
    packed.append("B", KeySlot.OMS, Algorithm.AES128, "000002")
    packed.append("A", KeySlot.MBUS, Algorithm.AES128, "000003")  # out of order: sets now
    with pytest.raises(ManifestError, match="lists slot OMS twice"):
        packed.append("A", KeySlot.OMS, Algorithm.AES128, "000004")
    assert packed.device_count == 2
    batch = KeyCheckList()
    with pytest.raises(ManifestError, match="twice"):
        batch.extend(["C", "C"], ["OMS", "OMS"], ["AES128", "AES128"], ["000001", "000002"])


@pytest.mark.parametrize(
    ("device", "slot", "algorithm", "kcv", "message"),
    [
        ("", "OMS", "AES128", "000000", "device"),
        ("A\nB", "OMS", "AES128", "000000", "control"),
        ("A", "OMS", "AES256", "000000", "cannot hold"),
        ("A", "Nope", "AES128", "000000", "key_check_values"),
        ("A", "OMS", "AES128", "00000g", "6 upper-case hex"),
    ],
)
def test_invalid_entries_are_refused_with_the_entry_message(
    device: str, slot: str, algorithm: str, kcv: str, message: str
) -> None:
    with pytest.raises(ManifestError, match=message):
        KeyCheckList().append(device, slot, algorithm, kcv)
    with pytest.raises(ManifestError, match=message):
        KeyCheckList().extend([device], [slot], [algorithm], [kcv])


def test_entry_json_escapes_what_json_escapes() -> None:
    for device in ('a "quoted" one', "back\\slash", "Zähler ü", "x/y"):
        expected = json.dumps(
            {"device": device, "slot": "OMS", "algorithm": "AES128", "kcv": "ABCDEF"},
            ensure_ascii=False,
        )
        assert entry_json(device, "OMS", "AES128", "ABCDEF") == expected


def test_byte_hex_reads_from_a_table_and_still_writes_bigger_numbers() -> None:
    assert byte_hex([None, 0, 7, 255, 256]) == ["", "00", "07", "FF", "100"]
    assert byte_hex(range(256)) == [f"{value:02X}" for value in range(256)]
