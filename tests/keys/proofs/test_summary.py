"""CSV report and summaries; no key material or decrypted payload in anything shown."""

import csv
import io

from meterkms.keys.proofs import (
    Candidate,
    LineError,
    Verdict,
    merge_summaries,
    parse_capture,
    prove_batch,
    render_csv,
    summarise,
)
from meterkms.keys.proofs.summary import CSV_COLUMNS

from .test_batch import CAPTURE, CATALOGUE, KEY_A, A, topas
from .vectors import TOPAS_PLAIN


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_one_row_per_telegram_and_bad_line_in_line_order():
    report = prove_batch(parse_capture(CAPTURE), CATALOGUE)
    table = rows(render_csv(report.reports, report.errors))
    assert [int(row["line"]) for row in table] == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    first = table[0]
    assert first == {
        "line": "2",
        "technology": "wM-Bus",
        "scheme": "mode5",
        "address": "AMT 00000001",
        "link_address": "AMT 00000001 vF1 t07",
        "tpl_address": "",
        "iv_address": "link",
        "join_eui": "",
        "checks": "2F2F=ok",
        "verdict": "key proven",
        "reason": "",
        "key_ref": "device-a/OMS",
        "candidates_tried": "1",
    }
    bad = table[5]
    assert (bad["verdict"], bad["scheme"]) == ("bad line", "")
    assert "hex digit" in bad["reason"]
    assert table[1]["verdict"] == "wrong key?"
    assert table[2]["verdict"] == "no device with this address"
    assert table[3]["verdict"] == "cannot tell"


def test_csv_header_is_stable():
    assert render_csv([]).splitlines() == [",".join(CSV_COLUMNS)]


def test_csv_cells_that_look_like_formulas_are_neutralised():
    parsed = parse_capture(topas("00000001", 1, KEY_A))
    report = prove_batch(parsed, {A: [Candidate("=HYPERLINK(1)", KEY_A)]})
    table = rows(render_csv(report.reports, [LineError(9, "-x")]))
    assert table[0]["key_ref"] == "'=HYPERLINK(1)"
    assert table[1]["reason"] == "'-x"


def test_merging_one_summary_changes_nothing_and_best_verdict_wins():
    report = prove_batch(parse_capture(CAPTURE), CATALOGUE)
    assert merge_summaries([report.summary]) == report.summary
    early, late = report.reports[:2], report.reports[2:]
    merged = merge_summaries([summarise(early, 1), summarise(late, 0)])
    assert merged == summarise(report.reports, 1)


def test_nothing_shown_contains_a_key_or_decrypted_payload():
    report = prove_batch(parse_capture(CAPTURE), CATALOGUE)
    shown = "\n".join(
        [
            render_csv(report.reports, report.errors),
            repr(report),
            repr(CATALOGUE),
            repr(report.summary),
            *(str(error) for error in report.errors),
        ]
    ).upper()
    for candidates in CATALOGUE.values():
        for candidate in candidates:
            assert candidate.key.hex().upper() not in shown
            assert repr(candidate.key).upper() not in shown
    payload = TOPAS_PLAIN[34:66]  # decrypted bytes after the 2F 2F filler
    assert payload not in shown


def test_summary_properties_match_device_verdicts():
    summary = prove_batch(parse_capture(CAPTURE), CATALOGUE).summary
    assert summary.proven_devices == summary.devices(Verdict.PROVEN)
    assert sum(summary.devices(v) for v in Verdict) == len(summary.device_verdicts)
