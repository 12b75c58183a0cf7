"""Chunked AES-256-GCM for payloads of any size, in bounded memory (the STREAM construction).

The plaintext is cut into segments of at most ``chunk_size`` bytes. Each segment is sealed
with AES-256-GCM under one key with the nonce ``prefix(7) ‖ counter(4, big-endian) ‖ kind(1)``
and the container header as associated data. The counter makes a reordered, repeated or
dropped segment fail; the kind byte carries a "final" bit (0x80) that only the last segment
has, so a truncation at a segment boundary fails too (Hoang, Reyhanitabar, Rogaway, Vizár,
"Online authenticated-encryption and its nonce-reuse misuse-resistance", 2015; the same shape
as Tink's streaming AEAD). Each segment is stored as ``kind(1) ‖ length(4, big-endian) ‖
ciphertext ‖ tag(16)``; ``length`` counts plaintext bytes.

Kinds: 0x01 payload, 0x02 manifest. Counter 0xFFFFFFFF with kind 0x00 is reserved for the
header tag (an empty GCM message over the header) that lets a reader tell a wrong password
from a damaged file before touching any segment.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meterkms.vault.containers.errors import ContainerError, DamagedFileError

KIND_PAYLOAD = 0x01
KIND_MANIFEST = 0x02
FINAL = 0x80
TAG_SIZE = 16
NONCE_PREFIX_SIZE = 7
DEFAULT_CHUNK_SIZE = 1 << 20
MAX_CHUNK_SIZE = 16 << 20
_HEADER_TAG_COUNTER = 0xFFFFFFFF
_SEGMENT = struct.Struct(">BI")


def as_chunks(data: bytes | Iterable[bytes]) -> Iterable[bytes]:
    """``data`` as an iterable of byte chunks (bytes themselves iterate as integers)."""
    return [bytes(data)] if isinstance(data, bytes | bytearray | memoryview) else data


def _nonce(prefix: bytes, counter: int, kind: int) -> bytes:
    return prefix + counter.to_bytes(4, "big") + bytes([kind])


def check_chunk_size(chunk_size: int) -> int:
    """Return ``chunk_size`` if a reader would accept it (1 byte to 16 MiB), else raise."""
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ContainerError(f"chunk size must be 1 to {MAX_CHUNK_SIZE} bytes, not {chunk_size}")
    return chunk_size


def header_tag(key: bytes, header: bytes, prefix: bytes) -> bytes:
    """The 16-byte tag that proves the key and authenticates the header."""
    return AESGCM(key).encrypt(_nonce(prefix, _HEADER_TAG_COUNTER, 0), b"", header)


def header_tag_matches(key: bytes, header: bytes, prefix: bytes, tag: bytes) -> bool:
    """Whether ``tag`` is the header tag of ``header`` under ``key``."""
    try:
        AESGCM(key).decrypt(_nonce(prefix, _HEADER_TAG_COUNTER, 0), tag, header)
    except InvalidTag:
        return False
    return True


class SegmentWriter:
    """Seal data of one or more kinds into segments and hand them to ``write``."""

    def __init__(
        self,
        write: Callable[[bytes], object],
        key: bytes,
        *,
        header: bytes,
        prefix: bytes,
        chunk_size: int,
    ) -> None:
        """Prepare sealing under ``key``; nothing is written before the first full segment."""
        self._write = write
        self._aead = AESGCM(key)
        self._header = header
        self._prefix = prefix
        self._chunk_size = check_chunk_size(chunk_size)
        self._counter = 0
        self._kind = KIND_PAYLOAD
        self._pending = bytearray()

    def _emit(self, data: bytes | memoryview, kind: int) -> None:
        if self._counter >= _HEADER_TAG_COUNTER:
            raise ContainerError("too many segments: use a larger chunk size")
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, kind), data, self._header)
        self._write(_SEGMENT.pack(kind, len(data)) + sealed)
        self._counter += 1

    def write(self, kind: int, data: bytes) -> None:
        """Add ``data`` of ``kind``; a change of kind closes the segment of the previous kind."""
        if kind != self._kind:
            if self._pending:
                self._emit(bytes(self._pending), self._kind)
                self._pending = bytearray()
            self._kind = kind
        self._pending += data
        size = self._chunk_size
        # Keep at least one byte back: the last segment must carry the final bit.
        full = (len(self._pending) - 1) // size
        if full > 0:
            with memoryview(self._pending) as view:
                for index in range(full):
                    self._emit(view[index * size : (index + 1) * size], kind)
                rest = bytes(view[full * size :])
            self._pending = bytearray(rest)

    def close(self) -> None:
        """Seal what is left (possibly nothing) as the final segment."""
        self._emit(bytes(self._pending), self._kind | FINAL)
        self._pending = bytearray()


def read_exact(read: Callable[[int], bytes], size: int) -> bytes:
    """Read ``size`` bytes or fewer only at the end of the input."""
    parts = []
    while size > 0:
        block = read(size)
        if not block:
            break
        parts.append(block)
        size -= len(block)
    return b"".join(parts)


def open_segment(
    aead: AESGCM, head: bytes, body: bytes, *, header: bytes, prefix: bytes, counter: int
) -> tuple[int, bytes]:
    """Authenticate one stored segment (``head`` as read, ``body`` = ciphertext ‖ tag).

    Returns ``(kind with its final bit, plaintext)``; raises DamagedFileError on a short read
    or a failed tag.
    """
    kind, length = _SEGMENT.unpack(head)
    if len(body) < length + TAG_SIZE:
        raise DamagedFileError("the file is truncated: its end is missing")
    try:
        return kind, aead.decrypt(_nonce(prefix, counter, kind), body, header)
    except InvalidTag:
        raise DamagedFileError(
            f"part {counter + 1} of the file failed authentication: "
            "it was altered, reordered, or belongs to another file"
        ) from None


def segment_head(head: bytes, counter: int, chunk_size: int) -> tuple[int, int]:
    """``(kind, length)`` of a segment's 5-byte head; DamagedFileError if it cannot be one."""
    if len(head) < _SEGMENT.size:
        raise DamagedFileError("the file is truncated: its end is missing")
    kind, length = _SEGMENT.unpack(head)
    if kind & ~FINAL not in (KIND_PAYLOAD, KIND_MANIFEST) or length > chunk_size:
        raise DamagedFileError(f"part {counter + 1} of the file was altered or damaged")
    return kind, length


#: Size of a stored segment's head (kind, length).
SEGMENT_HEAD_SIZE = _SEGMENT.size


def read_segments(
    read: Callable[[int], bytes], key: bytes, *, header: bytes, prefix: bytes, chunk_size: int
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(kind, plaintext)`` per authenticated segment, up to and including the final one.

    Raises DamagedFileError on a failed tag, a truncation, or data after the final segment.
    """
    aead = AESGCM(key)
    counter = 0
    while True:
        head = read_exact(read, _SEGMENT.size)
        _kind, length = segment_head(head, counter, chunk_size)
        body = read_exact(read, length + TAG_SIZE)
        kind, plaintext = open_segment(
            aead, head, body, header=header, prefix=prefix, counter=counter
        )
        yield kind & ~FINAL, plaintext
        counter += 1
        if kind & FINAL:
            if read(1):
                raise DamagedFileError("the file has extra data after its authenticated end")
            return
        if counter >= _HEADER_TAG_COUNTER:
            raise DamagedFileError("the file has too many parts")
