"""Encrypted spool files: uploads that hold keys in clear never touch the disk in clear.

An uploaded import file is encrypted while it is written, under a random one-off key; the
caller keeps that key only sealed (by the vault, bound to the import) in the database. The
file is read back as a stream, segment by segment, in bounded memory. Segments use the STREAM
construction: nonce = prefix ‖ counter ‖ final flag, so dropped, reordered or truncated
segments fail to open.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meterkms.vault.errors import VaultIntegrityError

MAGIC = b"MKMSSPL1"
SEGMENT = 1 << 20
_LENGTH = struct.Struct(">I")
_PREFIX_BYTES = 7


def new_spool_key() -> bytes:
    """A random AES-256 key for one spool file."""
    return AESGCM.generate_key(bit_length=256)


def _nonce(prefix: bytes, counter: int, final: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


class SpoolWriter:
    """Encrypts what is written into a new spool file (mode 0600), segment by segment."""

    def __init__(self, destination: Path, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._prefix = os.urandom(_PREFIX_BYTES)
        descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._out = os.fdopen(descriptor, "wb")
        self._out.write(MAGIC + self._prefix)
        self._pending = bytearray()
        self._counter = 0
        self.size = 0

    def write(self, data: bytes) -> None:
        """Add plaintext; full segments are encrypted and written at once."""
        self._pending += data
        self.size += len(data)
        # Keep at least one byte back: only close() knows which segment is the final one.
        while len(self._pending) > SEGMENT:
            self._emit(bytes(self._pending[:SEGMENT]), final=False)
            del self._pending[:SEGMENT]

    def _emit(self, chunk: bytes, *, final: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, final), chunk, MAGIC)
        self._out.write(_LENGTH.pack(len(sealed)) + sealed)
        self._counter += 1

    def close(self) -> None:
        """Write the final segment and make the file durable."""
        self._emit(bytes(self._pending), final=True)
        self._pending.clear()
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()


def write_spool(source: BinaryIO, destination: Path, key: bytes) -> int:
    """Encrypt all of ``source`` into ``destination``; returns the plaintext size."""
    writer = SpoolWriter(destination, key)
    for chunk in iter(lambda: source.read(SEGMENT), b""):
        writer.write(chunk)
    writer.close()
    return writer.size


def _segments(path: Path, key: bytes) -> Iterator[bytes]:
    aead = AESGCM(key)
    with path.open("rb") as handle:
        head = handle.read(len(MAGIC) + _PREFIX_BYTES)
        if head[: len(MAGIC)] != MAGIC or len(head) != len(MAGIC) + _PREFIX_BYTES:
            raise VaultIntegrityError("not a spool file")
        prefix = head[len(MAGIC) :]
        counter = 0
        while True:
            size_bytes = handle.read(_LENGTH.size)
            if len(size_bytes) != _LENGTH.size:
                raise VaultIntegrityError("the spool file is truncated")
            sealed = handle.read(_LENGTH.unpack(size_bytes)[0])
            final = not handle.peek(1) if hasattr(handle, "peek") else False
            try:
                yield aead.decrypt(_nonce(prefix, counter, final), sealed, MAGIC)
            except InvalidTag:
                raise VaultIntegrityError("the spool file is damaged or was cut") from None
            if final:
                return
            counter += 1


class SpoolReader(io.RawIOBase):
    """A readable binary stream of a spool file's plaintext."""

    def __init__(self, path: Path, key: bytes) -> None:
        super().__init__()
        self._segments = _segments(path, key)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, view: memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._segments)
            except StopIteration:
                return 0
            if not self._buffer:
                continue
        n = min(len(view), len(self._buffer))
        view[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def open_spool(path: Path, key: bytes) -> BinaryIO:
    """The plaintext of a spool file as a buffered binary stream."""
    return io.BufferedReader(SpoolReader(path, key), buffer_size=SEGMENT)
