"""Streaming split of a JSON file into its top-level values, without loading the file.

Accepts a top-level array (``[{…}, {…}]``) or a sequence of values separated by whitespace
(JSON Lines, and the concatenated objects The Things Stack writes). Each value is decoded
with the C decoder as soon as it is complete in the buffer; the buffer holds one value plus
one read chunk, and a value longer than ``max_json_object_chars`` stops parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from meterkms.devices.importers.limits import FatalFileError
from meterkms.devices.importers.textio import TextLines

_DECODER = json.JSONDecoder()
_NOT_WHITESPACE = re.compile(r"[^ \t\r\n]")
_VALUE_END = re.compile(r"[,\]} \t\r\n]")


def _json_message(exc: json.JSONDecodeError) -> str:
    # Only the fixed part of the decoder's message: some variants quote the offending text.
    return f"invalid JSON: {exc.msg.split(':')[0].lower()}"


class JsonValues:
    """Iterates ``(line, value)`` for each top-level value (or array element) of a file."""

    def __init__(self, source: TextLines) -> None:
        self._source = source
        self._chunks = source.chunks()
        self._limit = source.limits.max_json_object_chars
        self._buffer = ""
        self._pos = 0
        self._line = 1
        self._eof = False

    def _more(self) -> bool:
        """Append the next chunk; False at the end of the file."""
        if self._eof:
            return False
        chunk = next(self._chunks, "")
        if not chunk:
            self._eof = True
            return False
        lines_before = self._line + self._buffer.count("\n", self._pos)
        self._source.fail_on_bad_bytes(chunk, lines_before)
        if self._pos > 65536:
            self._buffer = self._buffer[self._pos :]
            self._pos = 0
        self._buffer += chunk
        return True

    def _advance(self, to: int) -> None:
        self._line += self._buffer.count("\n", self._pos, to)
        self._pos = to

    def _skip_whitespace(self) -> str:
        """The next non-whitespace character (not consumed), or ``""`` at the end."""
        while True:
            found = _NOT_WHITESPACE.search(self._buffer, self._pos)
            if found is not None:
                self._advance(found.start())
                return found.group()
            self._advance(len(self._buffer))
            if not self._more():
                return ""

    def _decode(self) -> tuple[int, object]:
        """Decode the value at the current position, reading more input as needed."""
        line = self._line
        while True:
            buffer, pos = self._buffer, self._pos
            if pos >= len(buffer):
                raise FatalFileError(line, "invalid JSON: the file ends too early")
            if buffer[pos] not in '{["':
                # A bare number or literal is complete only once a delimiter follows it.
                while not self._eof and not _VALUE_END.search(buffer, pos + 1):
                    if len(buffer) - pos > self._limit:
                        raise FatalFileError(
                            line, f"a JSON value is longer than {self._limit:,} characters"
                        )
                    self._more()
                    buffer, pos = self._buffer, self._pos
            try:
                value, end = _DECODER.raw_decode(buffer, pos)
            except json.JSONDecodeError as exc:
                if len(buffer) - pos > self._limit:
                    raise FatalFileError(
                        line, f"a JSON value is longer than {self._limit:,} characters"
                    ) from None
                if self._more():
                    continue
                raise FatalFileError(line, _json_message(exc)) from None
            except ValueError:  # e.g. an integer with more digits than Python converts
                raise FatalFileError(line, "invalid JSON: a number is too large") from None
            if end - pos > self._limit:
                raise FatalFileError(
                    line, f"a JSON value is longer than {self._limit:,} characters"
                )
            self._advance(end)
            return line, value

    def __iter__(self) -> Iterator[tuple[int, object]]:
        first = self._skip_whitespace()
        if not first:
            raise FatalFileError(0, "the file is empty")
        if first != "[":
            while self._skip_whitespace():
                yield self._decode()
            return
        self._advance(self._pos + 1)
        if self._skip_whitespace() == "]":
            self._advance(self._pos + 1)
        else:
            while True:
                yield self._decode()
                separator = self._skip_whitespace()
                if separator == "]":
                    self._advance(self._pos + 1)
                    break
                if separator != ",":
                    raise FatalFileError(self._line, "invalid JSON: expected ',' or ']'")
                self._advance(self._pos + 1)
                self._skip_whitespace()
        if self._skip_whitespace():
            raise FatalFileError(self._line, "invalid JSON: text after the closing ']'")
