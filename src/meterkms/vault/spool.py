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
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meterkms.vault.containers.errors import DamagedFileError
from meterkms.vault.containers.stream import (
    FINAL,
    KIND_PAYLOAD,
    NONCE_PREFIX_SIZE,
    SEGMENT_HEAD_SIZE,
    TAG_SIZE,
    SegmentWriter,
    open_segment,
    read_exact,
    segment_head,
)

MAGIC = b"MKMSSPL1"
SEGMENT = 1 << 20
_HEAD = len(MAGIC) + NONCE_PREFIX_SIZE
_STRIDE = SEGMENT_HEAD_SIZE + SEGMENT + TAG_SIZE


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


class SpoolReader(io.RawIOBase):
    """A readable, seekable binary stream of a spool file's plaintext.

    Every segment but the last holds exactly :data:`SEGMENT` bytes, so the segment under any
    position is found by arithmetic and opened on its own: a ZIP-based upload (XLSX, KEM) is
    read in place, never copied out in clear. The final segment is authenticated when the
    file is opened, so the size is known and a truncated file fails at once.
    """

    def __init__(self, path: Path, key: bytes) -> None:
        super().__init__()
        self._file = path.open("rb")
        try:
            self._head = read_exact(self._file.read, _HEAD)
            if len(self._head) != _HEAD or self._head[: len(MAGIC)] != MAGIC:
                raise DamagedFileError("not a spool file")
            self._aead = AESGCM(key)
            stored = os.fstat(self._file.fileno()).st_size - _HEAD
            self._count = max(1, -(-stored // _STRIDE))
            self._cached: tuple[int, bytes] = (-1, b"")
            last = self._segment(self._count - 1)
            self.size = (self._count - 1) * SEGMENT + len(last)
        except BaseException:
            self._file.close()
            raise
        self._position = 0

    def _segment(self, index: int) -> bytes:
        if self._cached[0] == index:
            return self._cached[1]
        final = index == self._count - 1
        self._file.seek(_HEAD + index * _STRIDE)
        head = read_exact(self._file.read, SEGMENT_HEAD_SIZE)
        kind, length = segment_head(head, index, SEGMENT)
        if kind != (KIND_PAYLOAD | FINAL if final else KIND_PAYLOAD) or (
            not final and length != SEGMENT
        ):
            raise DamagedFileError(f"part {index + 1} of the file was altered or damaged")
        body = read_exact(self._file.read, length + TAG_SIZE)
        if final and self._file.read(1):
            raise DamagedFileError("the file has extra data after its authenticated end")
        _kind, plaintext = open_segment(
            self._aead,
            head,
            body,
            header=self._head,
            prefix=self._head[len(MAGIC) :],
            counter=index,
        )
        self._cached = (index, plaintext)
        return plaintext

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, view: memoryview) -> int:  # type: ignore[override]
        if self._position >= self.size or not len(view):
            return 0
        index, offset = divmod(self._position, SEGMENT)
        data = self._segment(index)
        n = min(len(view), len(data) - offset)
        view[:n] = data[offset : offset + n]
        self._position += n
        return n

    def close(self) -> None:
        self._file.close()
        self._cached = (-1, b"")
        super().close()


def open_spool(path: Path, key: bytes) -> BinaryIO:
    """The plaintext of a spool file as a buffered binary stream."""
    return io.BufferedReader(SpoolReader(path, key), buffer_size=SEGMENT)
