"""LoRaWAN join messages: EUIs, pairing, lengths and messages that prove no root key."""

import pytest

from meterkms.devices.enums import Technology
from meterkms.keys.proofs import FrameError, Scheme
from meterkms.keys.proofs.lorawan import looks_like_lorawan, parse_lorawan

from .vectors import JOIN_ACCEPT, JOIN_REQUEST


def test_join_request_shows_euis_most_significant_byte_first():
    request = parse_lorawan(JOIN_REQUEST.frame_bytes, line=3)
    assert request.scheme is Scheme.JOIN_REQUEST
    assert request.join_eui == "70B3D57ED00000DC"
    assert request.dev_eui == "00AFEE7CF5ED6F1E"
    assert str(request.address) == "DevEUI 00AFEE7CF5ED6F1E"
    assert request.address.technology is Technology.LORAWAN
    assert request.link_address is None
    assert request.iv_source is None


def test_join_accept_takes_device_and_join_eui_from_its_request():
    request = parse_lorawan(JOIN_REQUEST.frame_bytes)
    accept = parse_lorawan(JOIN_ACCEPT.frame_bytes, request=request)
    assert accept.scheme is Scheme.JOIN_ACCEPT
    assert accept.address == request.address
    assert accept.join_eui == request.join_eui
    assert accept.lookup_addresses == (request.address,)


def test_join_accept_without_request_cannot_tell_and_has_no_address():
    accept = parse_lorawan(JOIN_ACCEPT.frame_bytes)
    assert accept.scheme is Scheme.NONE
    assert accept.address is None
    assert accept.lookup_addresses == ()


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("40F17DBE4900020001954378762B11FF0D", "unconfirmed data uplink"),
        ("80F17DBE4900020001954378762B11FF0D", "confirmed data uplink"),
        ("C000" + "00" * 17, "rejoin request"),
        ("E0010203", "proprietary"),
    ],
)
def test_other_message_types_cannot_prove_a_root_key(frame, reason):
    message = parse_lorawan(bytes.fromhex(frame))
    assert message.scheme is Scheme.NONE
    assert reason in message.cannot_tell


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", "empty"),
        (JOIN_REQUEST.frame_bytes[:-1], "23 bytes, got 22"),
        (JOIN_ACCEPT.frame_bytes[:20], "17 or 33 bytes, got 20"),
        (b"\x01" + bytes(22), "major version 1"),
    ],
)
def test_malformed_join_messages_are_rejected(frame, reason):
    with pytest.raises(FrameError, match=reason):
        parse_lorawan(frame)


def test_detection_by_length():
    assert looks_like_lorawan(JOIN_REQUEST.frame_bytes)
    assert looks_like_lorawan(JOIN_ACCEPT.frame_bytes)
    assert looks_like_lorawan(JOIN_ACCEPT.frame_bytes[:17])
    assert looks_like_lorawan(b"\xc0" + bytes(18))
    assert not looks_like_lorawan(b"")
    assert not looks_like_lorawan(b"\x00" + bytes(10))
    assert not looks_like_lorawan(bytes.fromhex("2044B40512345678F1077A") + bytes(22))
