"""wM-Bus structure: addresses, CI chain, CW field, and every "cannot tell" situation."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.keys.proofs import AddressSource, FrameError, Scheme, check_key, parse_frame
from meterkms.keys.proofs.wmbus import manufacturer_code, parse_wmbus

from .vectors import ELL_CTR, MODE5_LONG_TPL, MODE7_WITH_CRCS, TOPAS_PLAIN

LINK = "44B40512345678F107"  # C, M = AMT, ID 78563412, version F1, type 07


def frame(body_hex: str) -> bytes:
    """A frame of the TOPAS link header and ``body_hex`` (from the CI field), with its L."""
    body = bytes.fromhex(LINK + body_hex)
    return bytes([len(body)]) + body


@pytest.mark.parametrize(
    ("value", "code"),
    [(0x05B4, "AMT"), (0x25B4, "IMT"), (0x2C2D, "KAM"), (0x1596, "ELV"), (0x0000, "0000")],
)
def test_manufacturer_codes(value, code):
    assert manufacturer_code(value) == code


def test_short_tpl_telegram_has_the_link_address_only():
    telegram = parse_wmbus(bytes.fromhex(TOPAS_PLAIN))
    assert str(telegram.address) == "AMT 78563412"
    assert telegram.link_address.version == 0xF1
    assert telegram.link_address.device_type == 0x07
    assert telegram.tpl_address is None
    assert telegram.layers == ("TPL 7A",)
    assert (telegram.tpl.acc, telegram.tpl.mode, telegram.tpl.blocks) == (0x31, 5, 4)
    assert telegram.iv_source is AddressSource.LINK


def test_long_tpl_telegram_keeps_both_addresses_and_looks_up_the_meter_first():
    telegram = parse_wmbus(MODE5_LONG_TPL.frame_bytes)
    assert str(telegram.tpl_address) == "AAA 61070071 v25 t07"
    assert str(telegram.link_address) == "AAA 61070071 v25 t07"
    assert telegram.lookup_addresses == (telegram.address,)  # same address twice: one lookup
    assert telegram.iv_source is AddressSource.TPL


def test_mode7_telegram_reads_ell_afl_and_cw_extension():
    telegram = parse_frame(MODE7_WITH_CRCS.frame_bytes)
    assert telegram.layers == ("ELL 8C", "AFL 90", "TPL 7A")
    assert telegram.afl.mcl == 0x25
    assert telegram.afl.mcr == bytes.fromhex("B30A0000")
    assert telegram.tpl.cw_ext == 0x10
    assert telegram.ell.cc == 0x20


def test_ell_ctr_telegram_reads_session_number():
    telegram = parse_wmbus(ELL_CTR.frame_bytes)
    assert telegram.scheme is Scheme.ELL_CTR
    assert telegram.ell.sn == bytes.fromhex("D37CAC21")
    assert telegram.iv_source is AddressSource.LINK


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "no application data"),
        ("78046D", "CI 78"),
        ("79138C4491CE", "CI 79: compact frame"),
        ("A0FFFF", "CI A0"),
        ("8E2000", "CI 8E"),
        ("7A31000000", "security mode 0"),
        ("7A3100000D" + "00" * 16, "security mode 13 is not supported"),
        ("7A31000005", "mode 5 with no encrypted blocks"),
        ("8D20000000004000" + "00" * 4, "ELL encryption method 2"),
        ("7A3100200720" + "00" * 32, "key derivation 2"),
        ("7A3100200710" + "00" * 32, "without an AFL message counter"),
        ("900F006C25B30A000021924D4FBA372FB6" + "7A3100200710" + "00" * 32, "fragmented"),
        ("9013002C28B30A0000" + "00" * 12 + "7A3100200710" + "00" * 32, "type 8"),
        ("9007000825B30A0000" + "7A3100000710", "neither a MAC nor"),
    ],
)
def test_cannot_tell_situations_have_a_plain_reason(body, reason):
    telegram = parse_wmbus(frame(body))
    assert telegram.scheme is Scheme.NONE
    assert reason in telegram.cannot_tell
    assert check_key(telegram, bytes(16)).undecidable


def test_unencrypted_ell_8d_is_skipped_to_the_inner_layer():
    telegram = parse_wmbus(frame("8D200000000000" + "1234" + "7A31000000"))
    assert telegram.layers == ("ELL 8D", "TPL 7A")
    assert "security mode 0" in telegram.cannot_tell


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ("8C20", "ELL header (CI 8C)"),
        ("8D2000D37C", "ELL header (CI 8D)"),
        ("9003", "AFL header"),
        ("90050020", "AFL header"),
        ("90010020", "no room for the FCL"),
        ("7A3100", "short TPL header"),
        ("72713000", "long TPL header"),
        ("7A31000007", "CW extension byte"),
        ("7A31004005" + "00" * 63, "encrypted blocks"),
    ],
)
def test_truncated_headers_say_what_is_missing(body, missing):
    with pytest.raises(FrameError, match=re.escape(missing)):
        parse_wmbus(frame(body))


def test_afl_fields_longer_than_its_length_field_are_rejected():
    with pytest.raises(FrameError, match="do not fit its length field"):
        parse_wmbus(frame("9003002C25B30A0000" + "7A3100200710" + "00" * 32))


def test_link_header_shorter_than_ten_bytes_is_rejected():
    with pytest.raises(FrameError, match="10 bytes"):
        parse_wmbus(bytes.fromhex("0844B4051234567801"))


ci_fields = st.sampled_from([0x72, 0x7A, 0x8C, 0x8D, 0x90, 0x78, 0x79, 0x8E])


@given(
    chain=st.lists(st.tuples(ci_fields, st.binary(max_size=40)), min_size=1, max_size=4),
    key=st.binary(min_size=16, max_size=16),
)
@settings(max_examples=400, deadline=None)
def test_structured_random_frames_never_crash_parser_or_checks(chain, key):
    body = bytes.fromhex(LINK) + b"".join(bytes([ci]) + rest for ci, rest in chain)
    data = bytes([len(body) & 0xFF]) + body[:255]
    try:
        telegram = parse_wmbus(data)
    except FrameError:
        return  # a reason was given; any other exception fails the test
    outcome = check_key(telegram, key)
    assert outcome.undecidable == bool(telegram.cannot_tell)
    assert all(isinstance(check.passed, bool) for check in outcome.checks)
