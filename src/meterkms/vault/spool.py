"""Encrypted spool files: uploads that hold keys in clear never touch the disk in clear.

An uploaded import file is encrypted while it is written, under a random one-off key; the
caller keeps that key only sealed (by the vault, bound to the import) in the database. The
file is read back as a stream in bounded memory. The segments are the containers' chunked
AES-256-GCM (:mod:`meterkms.vault.containers.stream`): dropped, reordered or truncated
segments fail to open. Layout: magic (8) ‖ nonce prefix (7) ‖ segments; the first 15 bytes
are every segment's associated data.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meterkms.vault.containers.errors import DamagedFileError
from meterkms.vault.containers.stream import (
    KIND_PAYLOAD,
    NONCE_PREFIX_SIZE,
    SegmentWriter,
    read_exact,
    read_segments,
)

MAGIC = b"MKMSSPL1"
SEGMENT = 1 << 20


def new_spool_key() -> bytes:
    """A random AES-256 key for one spool file."""
    return AESGCM.generate_key(bit_length=256)


class SpoolWriter:
    """Encrypts what is written into a new spool file (mode 0600), segment by segment."""

    def __init__(self, destination: Path, key: bytes) -> None:
        prefix = os.urandom(NONCE_PREFIX_SIZE)
        descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._out = os.fdopen(descriptor, "wb")
        self._out.write(MAGIC + prefix)
        self._segments = SegmentWriter(
            self._out.write, key, header=MAGIC + prefix, prefix=prefix, chunk_size=SEGMENT
        )
        self.size = 0

    def write(self, data: bytes) -> None:
        """Add plaintext; full segments are encrypted and written at once."""
        self._segments.write(KIND_PAYLOAD, data)
        self.size += len(data)

    def close(self) -> None:
        """Write the final segment and make the file durable."""
        self._segments.close()
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


def _plaintext(path: Path, key: bytes) -> Iterator[bytes]:
    with path.open("rb") as handle:
        head = read_exact(handle.read, len(MAGIC) + NONCE_PREFIX_SIZE)
        if head[: len(MAGIC)] != MAGIC or len(head) != len(MAGIC) + NONCE_PREFIX_SIZE:
            raise DamagedFileError("not a spool file")
        segments = read_segments(
            handle.read, key, header=head, prefix=head[len(MAGIC) :], chunk_size=SEGMENT
        )
        for _kind, data in segments:
            yield data


class SpoolReader(io.RawIOBase):
    """A readable binary stream of a spool file's plaintext."""

    def __init__(self, path: Path, key: bytes) -> None:
        super().__init__()
        self._segments = _plaintext(path, key)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, view: memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._segments)
            except StopIteration:
                return 0
        n = min(len(view), len(self._buffer))
        view[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def open_spool(path: Path, key: bytes) -> BinaryIO:
    """The plaintext of a spool file as a buffered binary stream."""
    return io.BufferedReader(SpoolReader(path, key), buffer_size=SEGMENT)
