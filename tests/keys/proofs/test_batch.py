"""Batch proofs: grouping by address, one lookup per address, verdicts, chunked runs."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.devices.enums import KeySlot, Technology
from meterkms.keys.proofs import (
    AddressSource,
    Candidate,
    DeviceAddress,
    Scheme,
    Verdict,
    addresses_to_fetch,
    group_by_address,
    merge_summaries,
    parse_capture,
    prove,
    prove_batch,
    prove_capture,
    prove_many,
)
from meterkms.keys.proofs.encode import encode_join_accept, encode_join_request, encrypt_mode5

from .vectors import AQUASTREAM_PLAIN, TOPAS_PLAIN

TOPAS = bytes.fromhex(TOPAS_PLAIN)
AQUASTREAM = bytes.fromhex(AQUASTREAM_PLAIN)
KEY_A, KEY_B, KEY_D, KEY_L = (bytes([n]) * 16 for n in (0xA1, 0xB2, 0xD4, 0x1E))


def wmbus(manufacturer: str, identifier: str) -> DeviceAddress:
    return DeviceAddress(Technology.WMBUS, manufacturer, identifier)


def topas(meter_id: str, access: int, key: bytes) -> str:
    """A TOPAS telegram of meter ``meter_id`` (8 digits as printed) encrypted under ``key``."""
    ident = bytes.fromhex(meter_id)[::-1]
    plain = TOPAS[:4] + ident + TOPAS[8:11] + bytes([access]) + TOPAS[12:]
    return encrypt_mode5(plain, key).hex()


A, B, C, D = (wmbus("AMT", n) for n in ("00000001", "00000002", "00000003", "00000004"))
AQUA_METER, AQUA_MODULE = wmbus("IMT", "05933237"), wmbus("IMT", "10049257")
DEV_EUI = "0011223344556677"
LORA = DeviceAddress(Technology.LORAWAN, "", DEV_EUI)
JOIN = encode_join_request(KEY_L, join_eui="70B3D57ED0000001", dev_eui=DEV_EUI, dev_nonce=7)

CAPTURE = "\n".join(
    [
        "# drive-by capture",
        topas("00000001", 1, KEY_A),  # 2: proven
        topas("00000002", 1, bytes(16)),  # 3: meter B, sealed key differs: wrong key?
        topas("00000003", 1, KEY_A),  # 4: no device
        "0E44B40512345678F1077A31000000",  # 5: not encrypted: cannot tell
        encrypt_mode5(AQUASTREAM, KEY_A).hex(),  # 6: key stored under the module's address
        "zz",  # 7: bad line
        topas("00000001", 2, KEY_A),  # 8: proven, same device as line 2
        topas("00000004", 1, KEY_D),  # 9: second candidate proves it
        JOIN.hex(),  # 10: LoRaWAN join request
        encode_join_accept(KEY_L, join_nonce=1, net_id=2, dev_addr=3).hex(),  # 11
    ]
)
CATALOGUE = {
    A: [Candidate("device-a/OMS", KEY_A, KeySlot.OMS)],
    B: [Candidate("device-b/OMS", KEY_B)],
    D: [Candidate("device-d/v1", KEY_B), Candidate("device-d/v2", KEY_D)],
    AQUA_MODULE: [Candidate("module/OMS", KEY_A)],
    LORA: [Candidate("lora/AppKey", KEY_L, KeySlot.LORAWAN_APPKEY)],
}


def verdicts(reports):
    return {report.line: report.verdict for report in reports}


def test_grouping_collects_telegrams_of_one_device_and_skips_uncheckable_ones():
    parsed = parse_capture(CAPTURE)
    groups = group_by_address(parsed.telegrams)
    assert [t.line for t in groups[A]] == [2, 8]
    assert set(groups) == {A, B, C, D, AQUA_METER, LORA}


def test_addresses_to_fetch_include_the_module_address_behind_a_long_tpl():
    wanted = addresses_to_fetch(parse_capture(CAPTURE).telegrams)
    assert wanted == {A, B, C, D, AQUA_METER, AQUA_MODULE, LORA}


def test_batch_verdicts_per_telegram():
    report = prove_batch(parse_capture(CAPTURE), CATALOGUE)
    assert verdicts(report.reports) == {
        2: Verdict.PROVEN,
        3: Verdict.WRONG_KEY,
        4: Verdict.NO_DEVICE,
        5: Verdict.CANNOT_TELL,
        6: Verdict.PROVEN,
        8: Verdict.PROVEN,
        9: Verdict.PROVEN,
        10: Verdict.PROVEN,
        11: Verdict.PROVEN,
    }
    assert [(e.line, "hex digit" in e.reason) for e in report.errors] == [(7, True)]


def test_batch_reports_say_which_key_which_address_and_which_checks():
    by_line = {r.line: r for r in prove_batch(parse_capture(CAPTURE), CATALOGUE).reports}
    assert by_line[2].key_ref == "device-a/OMS"
    assert [str(check) for check in by_line[2].checks] == ["2F2F=ok"]
    assert [str(check) for check in by_line[3].checks] == ["2F2F=fail"]
    assert by_line[3].reason == "no stored key passes the checks"
    assert by_line[3].key_ref is None
    assert by_line[4].reason == "no key is stored for this address"
    assert "not encrypted" in by_line[5].reason
    assert by_line[6].address == AQUA_MODULE  # found under the module's address
    assert by_line[6].tpl_address.device == AQUA_METER
    assert by_line[6].iv_source is AddressSource.TPL
    assert (by_line[9].key_ref, by_line[9].candidates_tried) == ("device-d/v2", 2)
    assert by_line[10].join_eui == "70B3D57ED0000001"
    assert by_line[11].scheme is Scheme.JOIN_ACCEPT
    assert by_line[11].address == LORA


def test_summary_counts_devices_by_their_best_verdict():
    summary = prove_batch(parse_capture(CAPTURE), CATALOGUE).summary
    assert summary.telegrams == 9
    assert summary.bad_lines == 1
    assert summary.telegram_verdicts == {
        Verdict.PROVEN: 6,
        Verdict.WRONG_KEY: 1,
        Verdict.NO_DEVICE: 1,
        Verdict.CANNOT_TELL: 1,
    }
    assert summary.proven_devices == 4  # A, the module, D, the LoRaWAN device
    assert summary.wrong_key_devices == 1
    assert summary.unknown_devices == 1
    assert summary.device_verdicts[B] is Verdict.WRONG_KEY


def test_key_of_the_wrong_length_is_a_wrong_key_with_the_length_named():
    telegram = parse_capture(topas("00000001", 1, KEY_A)).telegrams[0]
    report = prove(telegram, [Candidate("device-a/DES", bytes(8))])
    assert report.verdict is Verdict.WRONG_KEY
    assert "16-byte key" in report.reason


def test_prove_without_candidates_is_no_device_and_undecidable_is_cannot_tell():
    wrong, plain = parse_capture(
        [topas("00000001", 1, KEY_A), "0E44B40512345678F1077A31000000"]
    ).telegrams
    assert prove(wrong, []).verdict is Verdict.NO_DEVICE
    assert prove(plain, [Candidate("x", KEY_A)]).verdict is Verdict.CANNOT_TELL


def test_later_candidate_keeps_checks_of_the_first_that_could_be_checked():
    telegram = parse_capture(topas("00000001", 1, KEY_A)).telegrams[0]
    report = prove(telegram, [Candidate("short", bytes(8)), Candidate("other", KEY_B)])
    assert report.verdict is Verdict.WRONG_KEY
    assert [str(check) for check in report.checks] == ["2F2F=fail"]
    assert report.candidates_tried == 2


def test_many_telegrams_of_one_device_share_the_key_and_each_get_a_report():
    lines = [topas("00000001", n, KEY_A) for n in range(20)] + [topas("00000001", 99, KEY_B)]
    report = prove_batch(parse_capture(lines), {A: [Candidate("a", KEY_A)]})
    assert [r.verdict for r in report.reports] == [Verdict.PROVEN] * 20 + [Verdict.WRONG_KEY]
    assert report.summary.device_verdicts == {A: Verdict.PROVEN}


@pytest.mark.parametrize("chunk_size", [1, 3, 1000])
def test_chunked_capture_gives_the_same_reports_and_one_fetch_per_chunk(chunk_size):
    fetched = []

    def fetch(wanted):
        fetched.append(set(wanted))
        return {address: CATALOGUE[address] for address in wanted if address in CATALOGUE}

    chunks = list(prove_capture(CAPTURE, fetch, chunk_size=chunk_size))
    whole = prove_batch(parse_capture(CAPTURE), CATALOGUE)
    reports = [r for chunk in chunks for r in chunk.reports]
    assert [(r.line, r.verdict, r.key_ref) for r in reports] == [
        (r.line, r.verdict, r.key_ref) for r in whole.reports
    ]
    assert merge_summaries(chunk.summary for chunk in chunks) == whole.summary
    assert len(fetched) <= len(chunks)  # one bulk lookup per chunk at most
    assert all(fetched)  # and none for a chunk with nothing to look up


@given(
    plan=st.lists(
        st.tuples(st.integers(1, 6), st.sampled_from(["right", "wrong", "none"])),
        min_size=1,
        max_size=25,
    ),
    chunk_size=st.integers(1, 10),
)
@settings(max_examples=40, deadline=None, derandomize=True)
def test_chunking_never_changes_the_verdicts_or_the_summary(plan, chunk_size):
    keys = {n: bytes([n]) * 16 for n in range(1, 7)}
    lines = [
        topas(f"{meter:08d}", access & 0xFF, keys[meter] if kind != "wrong" else bytes(16))
        for access, (meter, kind) in enumerate(plan)
    ]
    unknown = {meter for meter, kind in plan if kind == "none"}
    stored = {
        wmbus("AMT", f"{m:08d}"): [Candidate(str(m), k)]
        for m, k in keys.items()
        if m not in unknown
    }

    def fetch(wanted):
        return {address: stored[address] for address in wanted if address in stored}

    chunks = list(prove_capture(lines, fetch, chunk_size=chunk_size))
    whole = prove_batch(parse_capture(lines), stored)
    assert [r.verdict for c in chunks for r in c.reports] == [r.verdict for r in whole.reports]
    assert merge_summaries(c.summary for c in chunks) == whole.summary


def test_prove_many_without_candidates_reports_no_device_for_each():
    telegrams = parse_capture([topas("00000001", n, KEY_A) for n in range(3)]).telegrams
    reports = prove_many(telegrams, [])
    assert [r.verdict for r in reports] == [Verdict.NO_DEVICE] * 3
