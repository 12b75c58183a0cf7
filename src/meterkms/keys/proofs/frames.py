"""One captured frame (bytes) to a parsed telegram: technology, link CRCs, trailing bytes.

wM-Bus captures come with or without the frame format A link CRCs and sometimes with a
received-signal byte or two appended by the receiver. The L field says how long the frame
is, so both forms are recognised by length: L + 1 bytes without CRCs, more with them (the
CRCs are then verified and stripped). Up to :data:`MAX_TRAILING` bytes after the frame are
ignored; since a frame with a CI field has at least two CRC blocks (4 bytes), the two forms
never share a length.
"""

from __future__ import annotations

from meterkms.devices.enums import Technology

from .crc import CrcMismatch, crc16_en13757, length_with_crcs, strip_link_crcs
from .lorawan import LoRaWANMessage, looks_like_lorawan, parse_lorawan
from .model import FrameError
from .wmbus import WMBusTelegram, parse_wmbus

Telegram = WMBusTelegram | LoRaWANMessage

#: Receiver bytes (RSSI, LQI) tolerated after a wM-Bus frame.
MAX_TRAILING = 2

_LORAWAN_DATA_MHDRS = frozenset({0x40, 0x60, 0x80, 0xA0})
_JOIN_MHDRS = frozenset({0x00, 0x20, 0xC0})  # join request, join accept, rejoin request


def parse_frame(
    data: bytes,
    *,
    line: int = 0,
    technology: Technology | None = None,
    request: LoRaWANMessage | None = None,
) -> Telegram:
    """Parse one captured frame; ``technology`` None means detect it from the frame.

    ``request`` is the latest LoRaWAN join request seen before this frame (it names the
    device of a join accept). Raises :class:`FrameError` with a reason a reader can act on.
    """
    if not data:
        raise FrameError("no bytes")
    if technology is Technology.LORAWAN or (
        technology is None and data[0] in _JOIN_MHDRS and looks_like_lorawan(data)
    ):
        return parse_lorawan(data, line=line, request=request)
    return parse_wmbus_capture(data, line=line)


def _second_block_has_crc(data: bytes) -> bool:
    """True when bytes 12..27 are followed by their link CRC, as in a format A frame.

    Asked only of frames with trailing bytes: a damaged L field can make a frame with link
    CRCs look like one without them plus receiver bytes. By chance a frame without CRCs
    passes this with a probability of 1 in 65,536.
    """
    if len(data) < 30:
        return False
    return crc16_en13757(data[12:28]) == int.from_bytes(data[28:30], "big")


def parse_wmbus_capture(data: bytes, *, line: int = 0) -> WMBusTelegram:
    """Parse a wM-Bus capture with or without link CRCs, tolerating trailing bytes."""
    l_field = data[0]
    plain = l_field + 1
    size = len(data)
    if size == plain:  # the common case: a capture without link CRCs and receiver bytes
        return parse_wmbus(data, line=line)
    with_crcs = length_with_crcs(l_field)
    if with_crcs <= size <= with_crcs + MAX_TRAILING:
        stripped = strip_link_crcs(data[:with_crcs])
        if not isinstance(stripped, CrcMismatch):
            return parse_wmbus(stripped, line=line, link_crcs=True, trailing_bytes=size - with_crcs)
        if size > plain + MAX_TRAILING:
            raise FrameError(
                f"the link CRC of block {stripped.block} does not match: the capture is "
                "damaged (frame format A)"
            )
    if plain <= size <= plain + MAX_TRAILING:
        if _second_block_has_crc(data):
            raise FrameError(
                "the frame carries link CRCs, but its L field does not fit them: the capture "
                "is damaged (frame format A)"
            )
        return parse_wmbus(data[:plain], line=line, trailing_bytes=size - plain)
    hint = ""
    if l_field in _LORAWAN_DATA_MHDRS:
        hint = " (a LoRaWAN data frame? only join requests and join accepts prove a key)"
    elif l_field == 0x68 and size > 3 and data[3] == 0x68:
        hint = " (a wired M-Bus long frame? only wireless M-Bus frames are read)"
    raise FrameError(
        f"the L field {l_field:02X} announces {plain} bytes ({with_crcs} with link CRCs), "
        f"but there are {size}{hint}"
    )
