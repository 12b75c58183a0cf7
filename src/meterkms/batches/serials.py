"""Streaming reader of serial-number lists: typed text and ``.txt``/``.csv`` files.

Serial numbers are separated by commas, semicolons or line breaks. Tolerated: a byte-order
mark (UTF-8, and UTF-16 as spreadsheets save "Unicode text"), CRLF and lone CR line ends,
spaces and tabs around entries, entries in double quotes (``""`` inside quotes is one
quote), empty entries and blank lines, and a header word such as ``serial`` as the very
first entry of a file. Everything else is reported as a :class:`Problem` naming its line and
column; the reader never raises on any input and keeps memory bounded (entries are cut at
:data:`MAX_ENTRY_CHARS`, a stream stops after ``max_entries``).

Only separators and quotes are visited one by one; the text between them is sliced, so a
file of 100,000 serials is read in a few hundred milliseconds.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from django.utils.translation import gettext as _

from meterkms.devices.importers.fields import SERIAL_MAX, FieldError
from meterkms.devices.importers.fields import serial as check_serial

#: Longest entry text kept; longer entries are reported (and never held in full).
MAX_ENTRY_CHARS = 256
#: Default cap of entries per stream (the issue's files hold up to 100,000).
MAX_ENTRIES = 200_000
#: First entries of a file that are taken for a header and skipped (case-insensitive).
HEADER_WORDS = frozenset(
    {"serial", "serials", "serialnumber", "serial_number", "serial-number", "serial number"}
    | {"seriennummer", "seriennummern", "sn", "s/n"}
)

_SPECIAL = re.compile(r'[,;\r\n"]')
#: The common case in one match: a well-formed serial number (the syntax of
#: ``devices.importers.fields.serial``), optional spaces, and its separator.
_FAST = re.compile(
    r"[ \t\ufeff]*([A-Za-z0-9][A-Za-z0-9._/-]{0,"
    + str(SERIAL_MAX - 1)
    + r"})[ \t\ufeff]*(?:[,;]|(\r\n|\r|\n))"
)
_SPACE = " \t\ufeff"


class Entry(NamedTuple):
    """One serial number and where it stands (1-based line and column)."""

    serial: str
    line: int
    column: int
    source: str


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong at a line and column; ``serial`` is the entry's text when it has one."""

    line: int
    column: int
    source: str
    message: str
    serial: str = ""

    def as_detail(self) -> dict[str, object]:
        """The shape of a ``DomainError`` detail."""
        detail: dict[str, object] = {
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }
        if self.serial:
            detail["serial"] = self.serial
        return detail


def _decoder(first: bytes) -> codecs.IncrementalDecoder:
    """UTF-16 when the stream starts with its byte-order mark, else UTF-8 (BOM dropped).

    Undecodable bytes become U+FFFD, which no serial number contains: the entry holding
    them is reported with its position instead of the whole file failing.
    """
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return codecs.getincrementaldecoder("utf-16")(errors="replace")
    return codecs.getincrementaldecoder("utf-8-sig")(errors="replace")


class _Reader:
    """The scanner's state between chunks: the current line and the entry being read."""

    def __init__(self, source: str, max_entries: int, skip_header: bool) -> None:
        self.source = source
        self.max_entries = max_entries
        self.skip_header = skip_header
        self.out: list[Entry | Problem] = []
        self.line = 1
        self.line_start = 0  # absolute character offset of the current line's start
        self.last_cr = -2  # offset of the last CR, so that CRLF counts as one line break
        self.entries = 0
        self.seen_any = False
        self.stopped = False
        self._new_field()

    def _new_field(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.overflow = False  # visible characters beyond MAX_ENTRY_CHARS were dropped
        self.start_line = self.line
        self.start_column = 0  # 0: no visible character yet
        self.quoted = False
        self.in_quote = False
        self.quote_pending = False  # a quote inside quotes: closing, or the first of ""
        self.after_quote = False
        self.junk_after_quote = False

    @property
    def idle(self) -> bool:
        """Between entries, past the first one, below the cap: the fast path may read on."""
        return not (
            self.parts
            or self.start_column
            or self.in_quote
            or self.quote_pending
            or self.after_quote
            or self.stopped
            or not self.seen_any
            or self.entries >= self.max_entries
        )

    def fast(self, text: str, position: int, offset: int) -> int:
        """Well-formed entries with their separators (:data:`_FAST`) from ``position`` on.

        Returns where the run of well-formed entries ends.
        """
        match_at, out, source = _FAST.match, self.out, self.source
        line, line_start, room = self.line, self.line_start, self.max_entries - self.entries
        count = 0
        while count < room and (match := match_at(text, position)) is not None:
            count += 1
            position = match.end()
            column = offset + match.start(1) - line_start + 1
            out.append(Entry(match.group(1), line, column, source))
            newline = match.group(2)
            if newline:
                line += 1
                line_start = offset + position
            self.last_cr = offset + position - 1 if newline == "\r" else -2
        self.entries += count
        self.line, self.line_start = line, line_start
        return position

    # -- text between special characters ------------------------------------------------
    def text(self, piece: str, at: int) -> None:
        """Text between special characters, starting at absolute offset ``at``."""
        self.last_cr = -2 if piece else self.last_cr
        if self.quote_pending:
            self._close_quote()
        if self.after_quote:
            if piece.strip(_SPACE):
                self.junk_after_quote = True
            return
        if not self.start_column and not self.in_quote:
            visible = piece.lstrip(_SPACE)
            if visible:
                self.start_line = self.line
                self.start_column = at + len(piece) - len(visible) - self.line_start + 1
        self._keep(piece)

    def _keep(self, piece: str) -> None:
        room = max(MAX_ENTRY_CHARS - self.size, 0)
        if room:
            self.parts.append(piece[:room])
        if len(piece) > room and piece[room:].strip(_SPACE):
            self.overflow = True
        self.size += min(len(piece), room)

    # -- separators, line breaks and quotes ----------------------------------------------
    def special(self, char: str, at: int) -> None:
        """A separator, line break or quote at absolute offset ``at``."""
        if char == '"':
            self._quote(at)
            return
        if self.quote_pending:
            self._close_quote()
        if self.in_quote and char in ",;":
            self._keep(char)  # literal inside quotes; the syntax check reports it
            return
        if char == "\n" and self.last_cr == at - 1:
            self.last_cr = -2  # the LF of a CRLF: the break was counted at the CR
            self.line_start = at + 1
            return
        if self.in_quote:
            self.out.append(self._problem(_("the closing quote is missing")))
            self.in_quote = False
            self.parts, self.size, self.overflow = [], 0, False
        self._end_field()
        if char in "\r\n":
            self.last_cr = at if char == "\r" else -2
            self.line += 1
            self.line_start = at + 1

    def _quote(self, at: int) -> None:
        self.last_cr = -2
        if self.in_quote:
            if self.quote_pending:  # "" inside quotes: one literal quote
                self.quote_pending = False
                self._keep('"')
            else:
                self.quote_pending = True
            return
        if self.after_quote or self.start_column:
            self.junk_after_quote = self.junk_after_quote or self.after_quote
            if not self.after_quote:
                self._keep('"')  # a quote inside an entry; the syntax check reports it
            return
        self.in_quote = self.quoted = True
        self.start_line = self.line
        self.start_column = at - self.line_start + 1
        self.parts, self.size, self.overflow = [], 0, False

    def _close_quote(self) -> None:
        self.quote_pending = False
        self.in_quote = False
        self.after_quote = True

    # -- one complete entry ----------------------------------------------------------------
    def finish(self) -> None:
        """The end of the stream: the last entry, and a quote left open."""
        if self.quote_pending:
            self._close_quote()
        if self.in_quote:
            self.out.append(self._problem(_("the closing quote is missing")))
            self.parts, self.size, self.in_quote, self.overflow = [], 0, False, False
        self._end_field()

    def _problem(self, message: str, serial: str = "") -> Problem:
        return Problem(
            self.start_line, max(self.start_column, 1), self.source, message, serial[:SERIAL_MAX]
        )

    def _end_field(self) -> None:
        text = "".join(self.parts).strip(_SPACE)
        if self.junk_after_quote:
            self.out.append(self._problem(_("unexpected text after the closing quote")))
        elif text:
            self._entry(text)
        self._new_field()

    def _entry(self, text: str) -> None:
        first = not self.seen_any
        self.seen_any = True
        if first and self.skip_header and text.casefold() in HEADER_WORDS:
            return
        if self.stopped:
            return
        if self.entries >= self.max_entries:
            self.stopped = True
            message = _("more than %(n)d serial numbers: the rest is not read") % {
                "n": self.max_entries
            }
            self.out.append(self._problem(message))
            return
        self.entries += 1
        if self.overflow or len(text) > SERIAL_MAX:
            message = _("longer than %(n)d characters") % {"n": SERIAL_MAX}
            self.out.append(self._problem(message))
            return
        try:
            check_serial(text)
        except FieldError:
            self.out.append(self._problem(_("not a valid serial number"), _printable(text)))
            return
        self.out.append(Entry(text, self.start_line, self.start_column, self.source))


def _printable(text: str) -> str:
    """The entry for a message: control characters and replacement marks shown as ``?``."""
    return "".join(char if char.isprintable() and char != "\ufffd" else "?" for char in text)


def read_serials(
    chunks: Iterable[bytes],
    *,
    source: str,
    max_entries: int = MAX_ENTRIES,
    skip_header: bool = True,
) -> Iterator[Entry | Problem]:
    """Entries and problems of a byte stream, in order, chunk by chunk."""
    reader = _Reader(source, max_entries, skip_header)
    decoder: codecs.IncrementalDecoder | None = None
    head = b""  # the first bytes, until the byte-order mark can be recognised
    offset = 0
    for chunk in chunks:
        if decoder is None:
            head += chunk
            if len(head) < 2:
                continue
            decoder, chunk = _decoder(head), head
        offset = _scan(reader, decoder.decode(chunk), offset)
        yield from reader.out
        reader.out.clear()
    if decoder is None:
        decoder = _decoder(head)
        offset = _scan(reader, decoder.decode(head), offset)
    _scan(reader, decoder.decode(b"", final=True), offset)
    reader.finish()
    yield from reader.out


def read_text(
    text: str, *, source: str, max_entries: int = MAX_ENTRIES
) -> Iterator[Entry | Problem]:
    """Entries and problems of typed text (no header is skipped)."""
    reader = _Reader(source, max_entries, skip_header=False)
    _scan(reader, text, 0)
    reader.finish()
    yield from reader.out


def _scan(reader: _Reader, text: str, offset: int) -> int:
    """Feed ``text`` (starting at absolute character ``offset``); returns the next offset."""
    position, end = 0, len(text)
    while position < end:
        if reader.idle:
            reached = reader.fast(text, position, offset)
            if reached != position:
                position = reached
                continue
        special = _SPECIAL.search(text, position)
        if special is None:
            reader.text(text[position:], offset + position)
            break
        at = special.start()
        if at > position:
            reader.text(text[position:at], offset + position)
        reader.special(text[at], offset + at)
        position = at + 1
    return offset + end


def file_chunks(file: object, size: int = 64 * 1024) -> Iterator[bytes]:
    """Read an uploaded (binary) file in chunks."""
    chunks = getattr(file, "chunks", None)
    if callable(chunks):
        yield from chunks(size)
        return
    read = file.read  # type: ignore[attr-defined]
    while block := read(size):
        yield block


def entries_from_list(values: Iterable[str], *, source: str) -> Iterator[Entry | Problem]:
    """Entries of a list of serial numbers (the API); position = index in the list."""
    for index, value in enumerate(values, start=1):
        text = value.strip(_SPACE) if isinstance(value, str) else ""
        if not text:
            yield Problem(index, 1, source, _("the serial number is missing"))
            continue
        try:
            check_serial(text)
        except FieldError:
            yield Problem(index, 1, source, _("not a valid serial number"), _printable(text[:64]))
            continue
        yield Entry(text, index, 1, source)
