"""Result rows: the engine's fixed reasons are translatable, the CSV is spreadsheet-safe."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import translation

from meterkms.devices.enums import KeySlot, Technology
from meterkms.keys.proofs import Candidate, Verdict, parse_capture, prove, prove_batch
from meterkms.keys.proofs.batch import NO_CANDIDATE
from meterkms.keys.proofs.rows import (
    BAD_LINE,
    CSV_COLUMNS,
    REASONS,
    CsvReport,
    DeviceRef,
    KeyRef,
    ProofRow,
    rows_of,
)

from .catalogue import topas_mode5, topas_plain
from .vectors import JOIN_ACCEPT, MODE5_LONG_TPL


def _reason(text: str, candidates=()) -> str:
    parsed = parse_capture(text)
    (telegram,) = parsed.telegrams
    return prove(telegram, list(candidates)).reason


def test_every_translatable_reason_is_one_the_engine_gives():
    key = bytes(16)
    mode0 = bytearray(topas_plain("12345678"))
    mode0[14] = 0x00  # CW high byte: security mode 0
    produced = {
        _reason(MODE5_LONG_TPL.frame),
        _reason(MODE5_LONG_TPL.frame, [Candidate("c", key)]),
        _reason("0C44B40578563412010778" + "00" * 2),
        _reason("0C44B40578563412010779" + "00" * 2),
        _reason(bytes(mode0).hex()),
        _reason(JOIN_ACCEPT.frame),
    }
    assert set(REASONS) == produced
    assert NO_CANDIDATE in REASONS


def test_rows_name_the_proving_device_and_the_tried_ones():
    key = bytes(range(16))
    good = topas_mode5("12345678", key)
    bad = topas_mode5("12345679", key)
    parsed = parse_capture(f"{good.hex()}\n{bad.hex()}\nzz\n")
    candidates = {
        parsed.telegrams[0].address: [Candidate("a", key, KeySlot.OMS)],
        parsed.telegrams[1].address: [Candidate("b", bytes(16), KeySlot.OMS)],
    }
    refs = {
        "a": KeyRef(DeviceRef(1, "ONE"), KeySlot.OMS, 2),
        "b": KeyRef(DeviceRef(2, "TWO"), KeySlot.OMS, 1),
    }
    rows = rows_of(prove_batch(parsed, candidates), refs.__getitem__, candidates)
    assert [(r.line, r.verdict) for r in rows] == [
        (1, Verdict.PROVEN),
        (2, Verdict.WRONG_KEY),
        (3, BAD_LINE),
    ]
    assert rows[0].devices == (DeviceRef(1, "ONE"),)
    assert rows[0].key_slot == "OMS v2"
    assert rows[1].devices == (DeviceRef(2, "TWO"),)
    assert rows[1].key_slot == ""
    assert rows[0].technology == Technology.WMBUS.value


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(start):
    out = io.StringIO()
    row = ProofRow(
        line=1, verdict=BAD_LINE, reason=f"{start}cmd", devices=(DeviceRef(1, f"{start}X"),)
    )
    CsvReport(out).write([row])
    header, cells = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(header) == CSV_COLUMNS
    assert cells[CSV_COLUMNS.index("devices")] == f"'{start}X"
    assert cells[CSV_COLUMNS.index("reason")] == f"'{start}cmd"


def test_labels_follow_the_active_language():
    row = ProofRow(line=1, verdict=Verdict.PROVEN, reason=NO_CANDIDATE)
    with translation.override("en"):
        assert row.verdict_text == "key proven"
        assert row.reason_text == "no key is stored for this address"
    unknown = ProofRow(line=1, verdict=Verdict.CANNOT_TELL, reason="security mode 9: x")
    assert unknown.reason_text == "security mode 9: x"
