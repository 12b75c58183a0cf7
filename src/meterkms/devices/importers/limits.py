"""Size limits for import files, and the byte counter that enforces them while streaming.

Every parser reads through :class:`LimitedReader`, so a file larger than ``max_bytes`` stops
at the first byte past the limit, whatever the format, before it can fill memory. Row and
field limits are checked by the parsers as they go.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """Limits for one import file; exceeding one stops parsing with a fatal error.

    The defaults fit a production file of one million devices with generous columns.
    ``max_bytes`` also bounds the uncompressed size of what is read from a ZIP archive.
    ``max_zip_ratio`` applies to members larger than ``zip_ratio_floor`` (small files with a
    high ratio are harmless; a 1000:1 bomb is not).
    """

    max_bytes: int = 256 * MIB
    max_rows: int = 1_000_000
    max_field_chars: int = 1024
    max_line_chars: int = 64 * 1024
    max_columns: int = 256
    max_json_object_chars: int = 64 * 1024
    max_zip_members: int = 100
    max_zip_ratio: int = 100
    zip_ratio_floor: int = 1 * MIB

    def __post_init__(self) -> None:
        for name in self.__slots__:  # type: ignore[attr-defined]
            if getattr(self, name) <= 0:
                raise ValueError(f"import limit {name} must be positive")


DEFAULT_LIMITS = ImportLimits()


class FatalFileError(Exception):
    """Parsing cannot go on: raised inside a parser, turned into a fatal ``RecordError``.

    The message is shown to the user; it must never contain file contents.
    """

    def __init__(self, line: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.field = field


def describe_size(size: int) -> str:
    """A byte count as the user reads it (``256 MiB``, ``12 KiB``, ``300 bytes``)."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size:,} bytes"


class LimitedReader(io.RawIOBase):
    """A read-only raw stream that raises once more than ``limit`` bytes were read."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        super().__init__()
        self._stream = stream
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the wrapped stream, counting bytes against the limit."""
        view = memoryview(buffer).cast("B")
        # Read at most one byte past the limit: enough to know the file is too large.
        wanted = min(len(view), self._limit - self.count + 1)
        data = self._stream.read(wanted)
        if not data:
            return 0
        n = len(data)
        view[:n] = data
        self.count += n
        if self.count > self._limit:
            raise FatalFileError(
                0, f"the file is larger than the limit of {describe_size(self._limit)}"
            )
        return n


def limited_binary(stream: BinaryIO, limits: ImportLimits) -> io.BufferedReader:
    """``stream`` behind a byte counter and a read buffer (with ``peek``)."""
    return io.BufferedReader(LimitedReader(stream, limits.max_bytes), buffer_size=64 * 1024)
