"""Decoding of text import files: UTF-8 with or without BOM, or cp1252 when chosen.

Lines may end in CR, LF or CRLF, mixed. Undecodable bytes are not a crash and not silently
replaced: they are decoded with ``surrogateescape`` and the first line that holds one stops
the parser with its exact line number, which chunked strict decoding could not tell.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from meterkms.devices.importers.limits import DEFAULT_LIMITS, FatalFileError, ImportLimits
from meterkms.devices.importers.limits import limited_binary as _limited_binary

#: Encodings a caller may choose, mapped to the codec used. UTF-8 accepts an optional BOM.
ENCODINGS: dict[str, str] = {"utf-8": "utf-8-sig", "cp1252": "cp1252"}

_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _encoding_message(encoding: str) -> str:
    if encoding == "cp1252":
        return "the file holds bytes that are not valid Windows-1252 (cp1252)"
    return (
        "the file is not valid UTF-8; save it as UTF-8 (in Excel: 'CSV UTF-8'), "
        "or choose the encoding Windows-1252 (cp1252) explicitly"
    )


def _check_not_utf16(head: bytes) -> None:
    """Refuse UTF-16/UTF-32 files early with a message that says what to do."""
    sample = head[:16]
    even, odd = sample[0::2], sample[1::2]
    # ASCII text in UTF-16 without a BOM: every other byte is zero.
    zero_pattern = len(sample) >= 8 and (
        (not any(odd) and all(even)) or (not any(even) and all(odd))
    )
    if head.startswith(_UTF16_BOMS) or zero_pattern:
        raise FatalFileError(0, "the file is UTF-16 (or UTF-32) encoded; save it as UTF-8")


def first_bad_position(text: str) -> int | None:
    """Index of the first undecodable byte in ``text`` (decoded with surrogateescape)."""
    if text.isascii():
        return None
    found = _ESCAPED_BYTE.search(text)
    return found.start() if found else None


class TextLines:
    """The decoded lines of a text file, with the number of the last line returned.

    Lines keep their line ending (as the csv module wants). A line longer than
    ``max_line_chars`` stops parsing, so a file without line breaks cannot fill memory.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        encoding: str = "utf-8",
        limits: ImportLimits = DEFAULT_LIMITS,
    ) -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"unsupported encoding {encoding!r}; use one of {sorted(ENCODINGS)}")
        self.encoding = encoding
        self.limits = limits
        buffered = _limited_binary(stream, limits)
        _check_not_utf16(buffered.peek(64)[:64])
        self.text = io.TextIOWrapper(
            buffered, encoding=ENCODINGS[encoding], errors="surrogateescape", newline=""
        )
        self.line = 0

    def fail_on_bad_bytes(self, text: str, line: int) -> None:
        """Raise the encoding error if ``text`` (starting at ``line``) holds a bad byte."""
        position = first_bad_position(text)
        if position is not None:
            bad_line = line + text.count("\n", 0, position)
            raise FatalFileError(bad_line, _encoding_message(self.encoding))

    def __iter__(self) -> Iterator[str]:
        readline = self.text.readline
        limit = self.limits.max_line_chars
        longest = limit + 1
        # ``self.line`` is kept only where it is read: at a stop and on a problem (a store
        # per line would cost a tenth of the whole CSV parse). Callers number rows from the
        # csv reader's own line count.
        number = self.line
        while line := readline(longest):
            number += 1
            if len(line) == longest and line[-1] not in "\r\n":
                self.line = number
                raise FatalFileError(number, f"the line is longer than {limit:,} characters")
            if not line.isascii():
                self.fail_on_bad_bytes(line, number)
            yield line
        self.line = number

    def chunks(self, size: int = 64 * 1024) -> Iterator[str]:
        """The decoded text in chunks of about ``size`` characters (for stream parsers)."""
        read = self.text.read
        while True:
            chunk = read(size)
            if not chunk:
                return
            yield chunk
