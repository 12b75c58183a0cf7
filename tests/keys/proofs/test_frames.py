"""From captured bytes to a telegram: technology, link CRCs, receiver bytes, lengths."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.devices.enums import Technology
from meterkms.keys.proofs import FrameError, LoRaWANMessage, Scheme, WMBusTelegram, parse_frame
from meterkms.keys.proofs.crc import add_link_crcs

from .vectors import DES_MODE2, JOIN_ACCEPT, JOIN_REQUEST, MODE7_WITH_CRCS, TOPAS_PLAIN

TOPAS = bytes.fromhex(TOPAS_PLAIN)


def test_frame_without_crcs_is_taken_as_is():
    telegram = parse_frame(DES_MODE2.frame_bytes)
    assert isinstance(telegram, WMBusTelegram)
    assert not telegram.link_crcs
    assert telegram.trailing_bytes == 0
    assert telegram.frame == DES_MODE2.frame_bytes


def test_frame_with_crcs_is_verified_and_stripped():
    telegram = parse_frame(MODE7_WITH_CRCS.frame_bytes)
    assert telegram.link_crcs
    assert len(telegram.frame) == MODE7_WITH_CRCS.frame_bytes[0] + 1


@pytest.mark.parametrize("extra", [b"\x9c", b"\x9c\x01"])
@pytest.mark.parametrize("with_crcs", [False, True])
def test_one_or_two_receiver_bytes_after_the_frame_are_tolerated(extra, with_crcs):
    frame = add_link_crcs(TOPAS) if with_crcs else TOPAS
    telegram = parse_frame(frame + extra)
    assert telegram.trailing_bytes == len(extra)
    assert telegram.link_crcs is with_crcs
    assert telegram.frame == TOPAS


def test_three_bytes_after_the_frame_are_too_many():
    with pytest.raises(
        FrameError, match=re.escape("79 bytes (91 with link CRCs), but there are 82")
    ):
        parse_frame(TOPAS + b"\x01\x02\x03")


def test_damaged_crc_names_the_block():
    frame = bytearray(add_link_crcs(TOPAS))
    frame[50] ^= 0x80
    with pytest.raises(FrameError, match="block 4 does not match"):
        parse_frame(bytes(frame))


def test_lorawan_data_frame_gets_a_hint():
    with pytest.raises(FrameError, match="LoRaWAN data frame"):
        parse_frame(bytes.fromhex("40F17DBE4900020001954378762B11FF0D"))


def test_wired_mbus_long_frame_gets_a_hint():
    with pytest.raises(FrameError, match="wired M-Bus"):
        parse_frame(bytes.fromhex("681F1F68080272563412") + bytes(25) + bytes.fromhex("0016"))


def test_join_messages_are_detected_as_lorawan():
    request = parse_frame(JOIN_REQUEST.frame_bytes)
    accept = parse_frame(JOIN_ACCEPT.frame_bytes)
    assert isinstance(request, LoRaWANMessage)
    assert request.technology is Technology.LORAWAN
    assert isinstance(accept, LoRaWANMessage)
    assert accept.scheme is Scheme.NONE  # no request before it to name the device


def test_33_byte_frame_starting_with_20_is_wmbus_when_c_and_ci_fields_fit():
    frame = bytes.fromhex("2044B40512345678F1077A31000000") + bytes(18)
    assert len(frame) == 33
    telegram = parse_frame(frame)
    assert isinstance(telegram, WMBusTelegram)
    assert str(telegram.address) == "AMT 78563412"


def test_forcing_lorawan_on_a_wmbus_frame_reports_a_lorawan_problem():
    with pytest.raises(FrameError, match="LoRaWAN"):
        parse_frame(DES_MODE2.frame_bytes, technology=Technology.LORAWAN)


def test_empty_frame_is_an_error():
    with pytest.raises(FrameError, match="no bytes"):
        parse_frame(b"")


@given(data=st.binary(max_size=300), technology=st.sampled_from([None, *Technology]))
@settings(max_examples=400, deadline=None)
def test_parse_frame_raises_nothing_but_frame_errors(data, technology):
    try:
        telegram = parse_frame(data, technology=technology)
    except FrameError as error:
        reason = str(error)
        telegram = None
    if telegram is None:
        assert reason
    else:
        assert telegram.scheme in Scheme
        assert bool(telegram.cannot_tell) == (telegram.scheme is Scheme.NONE)
