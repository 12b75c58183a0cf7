"""CRC-16/EN-13757 and frame format A link CRC blocks."""

from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.keys.proofs.crc import (
    CrcMismatch,
    add_link_crcs,
    block_count,
    crc16_en13757,
    length_with_crcs,
    strip_link_crcs,
)

from .vectors import MODE7_WITH_CRCS


def test_crc16_en13757_check_value():
    assert crc16_en13757(b"123456789") == 0xC2B7


def test_block_count_follows_the_first_block_of_ten_then_sixteen():
    assert block_count(9) == 1  # L C M A only
    assert block_count(10) == 2
    assert block_count(25) == 2
    assert block_count(26) == 3
    assert length_with_crcs(0x43) == 0x43 + 1 + 2 * 5


def test_published_mode7_frame_strips_to_l_plus_one_bytes():
    frame = MODE7_WITH_CRCS.frame_bytes
    stripped = strip_link_crcs(frame)
    assert isinstance(stripped, bytes)
    assert len(stripped) == frame[0] + 1
    assert add_link_crcs(stripped) == frame


def test_damaged_block_is_named():
    frame = bytearray(MODE7_WITH_CRCS.frame_bytes)
    frame[40] ^= 0x01  # inside the third block (bytes 28..45)
    assert strip_link_crcs(bytes(frame)) == CrcMismatch(3)


frames = st.integers(min_value=9, max_value=255).flatmap(
    lambda l_field: st.binary(min_size=l_field, max_size=l_field).map(
        lambda rest: bytes([len(rest)]) + rest
    )
)


@given(frame=frames)
@settings(max_examples=200, deadline=None)
def test_adding_and_stripping_link_crcs_round_trips(frame):
    on_air = add_link_crcs(frame)
    assert len(on_air) == length_with_crcs(frame[0])
    assert strip_link_crcs(on_air) == frame
