"""Deterministic ZIP files: written as a stream, read back only if byte-for-byte canonical.

Every ZIP an export produces has one exact shape: members *stored* (no compression; the
contents are encrypted or plain CSV/JSON/XML), each written as local header, data and a data
descriptor (so the output can be a non-seekable HTTP stream), then the central directory and
the end record; fixed versions, flags (data descriptor + UTF-8 names), permissions (0600) and
the export time as the members' date. No ZIP64: a member or the whole file must stay below
4 GiB, which is far above the largest export (10 M keys ≈ 1 GB of CSV).

Reading checks CRCs through :mod:`zipfile` and then rebuilds the file from its members with
the same writer and compares SHA-256 digests, so a single flipped bit anywhere in the file,
even in a timestamp the ZIP format itself would ignore, makes the file count as damaged.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import BinaryIO

from meterkms.vault.containers.errors import ContainerError, DamagedFileError

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_DESCRIPTOR = struct.Struct("<IIII")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")

_VERSION = 20  # 2.0: what stored members with data descriptors need
_MADE_BY = (3 << 8) | _VERSION  # 3 = Unix, so the permissions below apply
_FLAGS = 0x0808  # bit 3: sizes and CRC in the data descriptor; bit 11: UTF-8 names
_EXTERNAL_ATTR = 0o100600 << 16  # regular file, owner read/write only: keys inside
_LIMIT = 0xFFFFFFFF
_MAX_MEMBERS = 0xFFFF
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

#: Bytes read at a time from members and sources.
READ_SIZE = 1 << 20

#: The zipfile/OS errors that mean "this is not the ZIP it claims to be".
_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    zlib.error,
)

DateTime = tuple[int, int, int, int, int, int]


def zip_date_time(moment: datetime) -> DateTime:
    """The ZIP (MS-DOS) date and time fields of ``moment``, to the even second."""
    if not 1980 <= moment.year <= 2107:
        raise ContainerError(f"ZIP dates run from 1980 to 2107, not {moment.year}")
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def check_member_name(name: str) -> str:
    """Return ``name`` if it is a safe member name (no paths, no leading dot), else raise."""
    if not _NAME.fullmatch(name):
        raise ContainerError(
            f"{name!r} cannot be a file name inside the export: use 1-128 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return name


def _dos(date_time: DateTime) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return (year - 1980) << 9 | month << 5 | day, hour << 11 | minute << 5 | second // 2


class ZipWriter:
    """Write a canonical ZIP to a binary stream, one member at a time, in bounded memory."""

    def __init__(self, out: BinaryIO, *, date_time: DateTime) -> None:
        """Start a ZIP on ``out``; ``date_time`` is the default date of every member."""
        self._out = out
        self._date_time = date_time
        self._position = 0
        self._central: list[bytes] = []

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._position += len(data)
        if self._position > _LIMIT:
            raise ContainerError("the export would exceed 4 GiB; split it into smaller downloads")

    def add(self, name: str, chunks: Iterable[bytes], *, date_time: DateTime | None = None) -> None:
        """Append the member ``name`` with the concatenated ``chunks`` as its content."""
        if len(self._central) >= _MAX_MEMBERS:
            raise ContainerError("too many members for one ZIP file")
        encoded = check_member_name(name).encode("ascii")
        date, time = _dos(date_time or self._date_time)
        offset = self._position
        self._write(
            _LOCAL.pack(0x04034B50, _VERSION, _FLAGS, 0, time, date, 0, 0, 0, len(encoded), 0)
        )
        self._write(encoded)
        crc, size = 0, 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            self._write(chunk)
        self._write(_DESCRIPTOR.pack(0x08074B50, crc, size, size))
        # signature, made by, needed, flags, method, time, date, CRC, sizes, name length,
        # extra, comment, disk, internal and external attributes, local header offset
        entry = (0x02014B50, _MADE_BY, _VERSION, _FLAGS, 0, time, date, crc, size, size,
                 len(encoded), 0, 0, 0, 0, _EXTERNAL_ATTR, offset)  # fmt: skip
        self._central.append(_CENTRAL.pack(*entry) + encoded)

    def close(self) -> None:
        """Write the central directory and the end record."""
        start = self._position
        for entry in self._central:
            self._write(entry)
        count = len(self._central)
        size = self._position - start
        self._write(_END.pack(0x06054B50, 0, 0, count, count, size, start, 0))


class _DigestSink:
    """A write-only stream that only hashes and counts what it gets."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> int:
        """Hash ``data`` and report it as written."""
        self.hash.update(data)
        return len(data)


def _digest_of(source: BinaryIO) -> bytes:
    source.seek(0)
    digest = hashlib.sha256()
    while block := source.read(READ_SIZE):
        digest.update(block)
    return digest.digest()


class StrictZip:
    """A ZIP export opened for reading after checking it is exactly what ZipWriter writes."""

    def __init__(self, source: BinaryIO) -> None:
        """Open and verify ``source`` (seekable); raise DamagedFileError on any deviation."""
        self._source = source
        try:
            self._zip = zipfile.ZipFile(source)
            infos = self._zip.infolist()
            self.names: tuple[str, ...] = tuple(info.filename for info in infos)
            self._check_canonical(infos)
        except ContainerError:
            raise
        except _READ_ERRORS as error:
            raise DamagedFileError(f"the ZIP file is damaged or was altered ({error})") from None

    def _check_canonical(self, infos: list[zipfile.ZipInfo]) -> None:
        for info in infos:
            # Before reading any data: only stored members, so zipfile never decompresses.
            if (
                info.compress_type != zipfile.ZIP_STORED
                or info.flag_bits != _FLAGS
                or not _NAME.fullmatch(info.filename)
            ):
                raise DamagedFileError(
                    f"the ZIP member {info.filename!r} is not in canonical form: "
                    "the file was altered or repacked"
                )
        rebuilt = _DigestSink()
        writer = ZipWriter(rebuilt, date_time=(1980, 1, 1, 0, 0, 0))  # type: ignore[arg-type]
        for info in infos:
            writer.add(info.filename, self.chunks(info.filename), date_time=info.date_time)
        writer.close()
        if rebuilt.hash.digest() != _digest_of(self._source):
            raise DamagedFileError(
                "the ZIP file is not in canonical form: it was altered or repacked"
            )

    def size(self, name: str) -> int:
        """Size in bytes of the member ``name``."""
        return self._zip.getinfo(name).file_size

    def chunks(self, name: str) -> Iterator[bytes]:
        """The content of member ``name`` in blocks; CRC errors surface as DamagedFileError."""
        try:
            with self._zip.open(name) as member:
                while block := member.read(READ_SIZE):
                    yield block
        except _READ_ERRORS as error:
            raise DamagedFileError(f"the ZIP member {name!r} is damaged ({error})") from None

    def read(self, name: str, *, limit: int) -> bytes:
        """The whole content of member ``name``, refusing members larger than ``limit``."""
        if self.size(name) > limit:
            raise DamagedFileError(f"the ZIP member {name!r} is implausibly large")
        return b"".join(self.chunks(name))
