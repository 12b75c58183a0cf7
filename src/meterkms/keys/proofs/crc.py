"""CRC-16/EN-13757 and the link-layer CRC blocks of wM-Bus frame format A.

CRC-16/EN-13757: polynomial 0x3D65, init 0, no reflection, final xor 0xFFFF. Frame format A
sends a CRC (big-endian) after the first 10 bytes (L, C, M, A) and after every further 16
bytes; the last block may be shorter. Captures come both with and without these CRCs, so the
input parser needs to tell the two apart, verify and strip them; the encoder adds them.
"""

from __future__ import annotations

from dataclasses import dataclass

POLY = 0x3D65
FIRST_BLOCK = 10
BLOCK = 16


def _table() -> tuple[int, ...]:
    rows = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ POLY) if crc & 0x8000 else (crc << 1)
        rows.append(crc & 0xFFFF)
    return tuple(rows)


_TABLE = _table()


def crc16_en13757(data: bytes) -> int:
    """CRC-16/EN-13757 of ``data`` (check value of b"123456789" is 0xC2B7)."""
    crc = 0
    table = _TABLE
    for byte in data:
        crc = table[((crc >> 8) ^ byte) & 0xFF] ^ ((crc << 8) & 0xFFFF)
    return crc ^ 0xFFFF


def block_count(l_field: int) -> int:
    """Number of CRC blocks of a format A frame with this L field (first block included)."""
    rest = max(0, l_field - (FIRST_BLOCK - 1))
    return 1 + (rest + BLOCK - 1) // BLOCK


def length_with_crcs(l_field: int) -> int:
    """Bytes on air of a format A frame: L field, L bytes and two CRC bytes per block."""
    return 1 + l_field + 2 * block_count(l_field)


@dataclass(frozen=True, slots=True)
class CrcMismatch:
    """The CRC of one link block does not match: the capture is damaged."""

    block: int  # 1-based, as a reader counts them


def strip_link_crcs(data: bytes) -> bytes | CrcMismatch:
    """Verify and remove the format A CRCs of a frame; ``data`` holds exactly one frame.

    Returns the frame without CRCs, or which block failed. The caller has checked that
    ``len(data) == length_with_crcs(data[0])``.
    """
    out = bytearray()
    pos = 0
    block = 0
    size = FIRST_BLOCK
    end = len(data)
    while pos < end:
        block += 1
        chunk = data[pos : min(pos + size, end - 2)]
        pos += len(chunk)
        if crc16_en13757(chunk) != int.from_bytes(data[pos : pos + 2], "big"):
            return CrcMismatch(block)
        pos += 2
        out += chunk
        size = BLOCK
    return bytes(out)


def add_link_crcs(frame: bytes) -> bytes:
    """Insert format A CRCs into a frame given without them (the L field is unchanged)."""
    out = bytearray()
    pos = 0
    size = FIRST_BLOCK
    while pos < len(frame):
        chunk = frame[pos : pos + size]
        out += chunk
        out += crc16_en13757(chunk).to_bytes(2, "big")
        pos += size
        size = BLOCK
    return bytes(out)
