"""Captured traffic as text: the line formats people paste, to frames with line numbers.

Accepted per line (surrounding whitespace ignored):

- plain hex, optionally ``0x``-prefixed, bytes optionally separated by spaces, ``:``,
  ``-`` or ``_``;
- wmbusmeters: ``telegram=|<hex, may contain _>|`` optionally followed by ``+<seconds>``
  (``--logtelegrams`` output and simulation files);
- rtl-wmbus: ``MODE;CRC_OK;3OUTOF6_OK;TIMESTAMP;PACKET_RSSI;CURRENT_RSSI;ID;0x<hex>``
  (the frame without link CRCs); a line the receiver flagged as damaged is rejected;
- blank lines and comments (``#``, ``//`` or ``;`` at the start, or `` #`` after the data).

Every other line becomes a :class:`LineError` with its number; nothing here raises on bad
input. Only the line number and our own words go into a message, never the line itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from meterkms.devices.enums import Technology

from .frames import Telegram, parse_frame
from .lorawan import LoRaWANMessage
from .model import FrameError, LineError, Scheme

#: No telegram is longer: wM-Bus L = 255 with CRCs and receiver bytes is 292 bytes.
MAX_HEX_DIGITS = 600
_SEPARATORS = str.maketrans("", "", " \t:-_")
_HEX = frozenset("0123456789abcdefABCDEF")
_RTL_MODES = ("T1", "C1", "S1")


@dataclass
class ParsedInput:
    """The telegrams of an input and the lines that could not be used."""

    telegrams: list[Telegram] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    lines: int = 0


def parse_capture(
    data: str | bytes | Iterable[str], *, technology: Technology | None = None
) -> ParsedInput:
    """Parse captured traffic (a text, raw file bytes or lines) into telegrams and errors.

    ``technology`` forces wM-Bus or LoRaWAN for every line; None detects it per frame. A
    LoRaWAN join accept is paired with the latest join request before it.
    """
    reader = CaptureReader(technology=technology)
    return reader.read(capture_lines(data))


def parse_capture_chunks(
    data: str | bytes | Iterable[str],
    *,
    technology: Technology | None = None,
    chunk_size: int = 2000,
) -> Iterator[ParsedInput]:
    """Parse captured traffic in chunks of ``chunk_size`` lines (numbering continues).

    Big captures are handled chunk by chunk so that only one chunk's objects are alive at a
    time; this keeps memory bounded and Python's garbage collector cheap.
    """
    reader = CaptureReader(technology=technology)
    lines = iter(capture_lines(data))
    while chunk := list(islice(lines, max(1, chunk_size))):
        yield reader.read(chunk)


def capture_lines(data: str | bytes | Iterable[str]) -> Iterable[str]:
    """The lines of a capture given as text, raw file bytes (UTF-8) or lines."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    if isinstance(data, str):
        return data.removeprefix("\ufeff").split("\n")
    return data


class CaptureReader:
    """Reads capture lines into telegrams; line numbers and join pairing carry over calls."""

    def __init__(self, *, technology: Technology | None = None) -> None:
        self.technology = technology
        self.line = 0
        self.request: LoRaWANMessage | None = None

    def read(self, lines: Iterable[str]) -> ParsedInput:
        """Parse the next lines of the capture."""
        result = ParsedInput()
        technology = self.technology
        number = self.line
        for number, raw in enumerate(lines, self.line + 1):
            frame = read_line(raw)
            if frame is None:
                continue
            if isinstance(frame, str):
                result.errors.append(LineError(number, frame))
                continue
            try:
                telegram = parse_frame(
                    frame, line=number, technology=technology, request=self.request
                )
            except FrameError as error:
                result.errors.append(LineError(number, str(error)))
                continue
            if telegram.scheme is Scheme.JOIN_REQUEST and isinstance(telegram, LoRaWANMessage):
                self.request = telegram
            result.telegrams.append(telegram)
        result.lines = number - self.line
        self.line = number
        return result


def read_line(line: str) -> bytes | str | None:
    """The frame bytes of one line, None for a blank or comment line, or an error reason."""
    text = line.strip()
    if not text or text[0] in "#;" or text.startswith("//"):
        return None
    if len(text) <= MAX_HEX_DIGITS:
        try:
            return bytes.fromhex(text)  # the common case: plain hex, maybe with spaces
        except ValueError:
            pass
    if "#" in text:
        text = text.split("#", 1)[0].rstrip()
    if text.startswith("telegram="):
        return _wmbusmeters(text)
    if ";" in text:
        return _rtl_wmbus(text)
    return _hex(text, "")


def _wmbusmeters(text: str) -> bytes | str:
    parts = text[len("telegram=") :].split("|")
    if len(parts) != 3 or parts[0] or not (parts[2] == "" or _is_offset(parts[2])):
        return "expected wmbusmeters format telegram=|<hex>| or telegram=|<hex>|+<seconds>"
    return _hex(parts[1], "the telegram between the bars ")


def _is_offset(text: str) -> bool:
    return text.startswith("+") and text[1:].isdigit()


def _rtl_wmbus(text: str) -> bytes | str:
    fields = text.split(";")
    if len(fields) != 8 or not fields[0].endswith(_RTL_MODES):
        return (
            "expected rtl-wmbus format MODE;CRC_OK;3OUTOF6_OK;TIMESTAMP;PACKET_RSSI;"
            "CURRENT_RSSI;ID;0x<hex> (8 fields separated by ;)"
        )
    if fields[1].strip() != "1":
        return "rtl-wmbus flagged a CRC error (CRC_OK is not 1): the capture is damaged"
    if fields[2].strip() != "1":
        return "rtl-wmbus flagged a 3-out-of-6 decoding error: the capture is damaged"
    data = fields[7].strip()
    if not data.lower().startswith("0x"):
        return "rtl-wmbus frame field must start with 0x"
    return _hex(data, "the rtl-wmbus frame field ")


def _hex(text: str, where: str) -> bytes | str:
    """Hex digits to bytes, with a reason naming the first problem."""
    text = text.strip()
    if text[:2].lower() == "0x":
        text = text[2:]
    digits = text.translate(_SEPARATORS)
    if not digits:
        return f"{where}has no hex digits"
    if len(digits) > MAX_HEX_DIGITS:
        return f"{where}has {len(digits)} hex digits, more than any telegram ({MAX_HEX_DIGITS})"
    for position, char in enumerate(digits, 1):
        if char not in _HEX:
            shown = char if char.isprintable() and char.isascii() else f"U+{ord(char):04X}"
            return f"{where}has {shown!r} at hex digit {position}: not a hex digit"
    if len(digits) % 2:
        return f"{where}has an odd number of hex digits ({len(digits)})"
    return bytes.fromhex(digits)
