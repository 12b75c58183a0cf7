"""Opening ZIP-based uploads (XLSX, Kamstrup KEM) with zip-bomb checks before extraction.

The central directory is checked first: member count, total uncompressed size and the
compression ratio of every large member. The declared sizes are then binding, since
``zipfile`` stops each member at its declared size and fails its CRC check if the data
claims otherwise.
"""

from __future__ import annotations

import io
import shutil
import zipfile
import zlib
from typing import BinaryIO

from meterkms.devices.importers.limits import (
    FatalFileError,
    ImportLimits,
    describe_size,
    limited_binary,
)

#: Exceptions ``zipfile`` raises on broken archives.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


def seekable_copy(stream: BinaryIO, limits: ImportLimits) -> BinaryIO:
    """``stream`` itself if it can seek, else a copy in memory (size-limited).

    Import files carry keys in clear, so the copy never spills to disk; uploads arrive as
    seekable encrypted spool files and need no copy at all.
    """
    try:
        if stream.seekable():
            return stream
    except (AttributeError, OSError):
        pass
    copy = io.BytesIO()
    try:
        shutil.copyfileobj(limited_binary(stream, limits), copy, 64 * 1024)
    except BaseException:
        copy.close()
        raise
    copy.seek(0)
    return copy


def check_size(stream: BinaryIO, limits: ImportLimits) -> None:
    """Refuse a seekable file larger than ``max_bytes`` before reading it."""
    position = stream.tell()
    size = stream.seek(0, 2)
    stream.seek(position)
    if size > limits.max_bytes:
        raise FatalFileError(
            0, f"the file is larger than the limit of {describe_size(limits.max_bytes)}"
        )


def open_zip(stream: BinaryIO, limits: ImportLimits) -> zipfile.ZipFile:
    """Open a ZIP archive after checking its directory against ``limits``.

    ``stream`` must be seekable (see :func:`seekable_copy`); closing the archive leaves
    the stream open, so whoever made a copy closes it.
    """
    check_size(stream, limits)
    try:
        archive = zipfile.ZipFile(stream)
        members = archive.infolist()
    except ZIP_ERRORS:
        raise FatalFileError(0, "the file is not a readable ZIP archive") from None
    if len(members) > limits.max_zip_members:
        archive.close()
        raise FatalFileError(
            0,
            f"the archive has {len(members)} members, more than the limit of "
            f"{limits.max_zip_members}",
        )
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > limits.zip_ratio_floor and ratio > limits.max_zip_ratio:
            archive.close()
            raise FatalFileError(
                0,
                f"a member of the archive is compressed {ratio:,.0f}:1, more than the limit "
                f"of {limits.max_zip_ratio}:1 (a zip bomb?)",
            )
        if total > limits.max_bytes:
            archive.close()
            raise FatalFileError(
                0, f"the archive unpacks to more than {describe_size(limits.max_bytes)}"
            )
    return archive


def read_member(archive: zipfile.ZipFile, name: str, password: bytes | None = None) -> bytes:
    """The bytes of one member (already size-checked by :func:`open_zip`)."""
    try:
        return archive.read(name, pwd=password)
    except RuntimeError:  # an encrypted member without the right password
        raise FatalFileError(0, "the archive member is password-protected") from None
    except ZIP_ERRORS:
        raise FatalFileError(0, "the archive is damaged (a member cannot be unpacked)") from None
