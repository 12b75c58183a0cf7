"""Choosing the parser: by explicit format name, or by sniffing the content and file name.

Sniffing looks at the first 8 KiB only: a ZIP is XLSX or KEM (by its first member's name or
the extension), ``<`` starts a KEM file, ``{``/``[`` JSON (The Things Stack's when it has
``ids`` or ``root_keys``), ``name=``/``id=``/``key=`` lines a wmbusmeters meter file, a header
with ``dev_eui``, ``join_eui``/``app_eui`` and ``app_key`` but no serial TTS CSV, lines
ending in a long hex key a ``MAN;SERIAL;KEY`` list, anything else CSV.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from meterkms.devices.importers.base import DEFAULT_OPTIONS, ParseOptions
from meterkms.devices.importers.columns import ALIASES, Kind, squash
from meterkms.devices.importers.delimited import parse_csv, parse_tts_csv, sniff_delimiter
from meterkms.devices.importers.json_format import parse_json, parse_tts_json
from meterkms.devices.importers.kem import parse_kem
from meterkms.devices.importers.keylists import parse_key_list, parse_wmbusmeters
from meterkms.devices.importers.records import ParsedItem, RecordError, Severity
from meterkms.devices.importers.xlsx_format import parse_xlsx

Parser = Callable[[BinaryIO, ParseOptions], Iterator[ParsedItem]]

#: Every import format by name.
PARSERS: dict[str, Parser] = {
    "csv": parse_csv,
    "tts-csv": parse_tts_csv,
    "json": parse_json,
    "tts-json": parse_tts_json,
    "xlsx": parse_xlsx,
    "kem": parse_kem,
    "keylist": parse_key_list,
    "wmbusmeters": parse_wmbusmeters,
}

SNIFF_BYTES = 8192
_SETTING = re.compile(r"(?:name|driver|id|key)\s*=", re.IGNORECASE)
_LONG_HEX = re.compile(r"(?:0[xX])?[0-9A-Fa-f](?:[ :-]?[0-9A-Fa-f]){15,}")
# Columns only The Things Stack's CSV has (squashed), telling it apart from generic CSV.
_TTS_ONLY = frozenset({"id", "name", "description", "frequencyplanid", "lorawanphyversion"})
_TTS_JSON = re.compile(rb'"(?:ids|root_keys)"\s*:')


def _zip_format(head: bytes, extension: str) -> str:
    if extension in (".kem", ".kem2"):
        return "kem"
    if extension == ".xlsx":
        return "xlsx"
    name_length = int.from_bytes(head[26:28], "little") if len(head) >= 30 else 0
    first_member = head[30 : 30 + name_length].decode("latin-1").lower()
    return "kem" if first_member.endswith((".kem", ".kem2")) else "xlsx"


def _text_format(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    content = [line for line in lines if line and not line.startswith("#")]
    if not content:
        return "csv"
    first = content[0]
    if _SETTING.match(first):
        return "wmbusmeters"
    cells = [squash(cell) for cell in first.split(sniff_delimiter(first))]
    specs = [ALIASES.get(cell) for cell in cells]
    names = {spec.name for spec in specs if spec is not None}
    if {"dev_eui", "join_eui", "app_key"} <= names and (
        "serial" not in names or not _TTS_ONLY.isdisjoint(cells)
    ):
        return "tts-csv"
    order = [spec.name if spec is not None else "" for spec in specs]
    if order in (["manufacturer", "serial", "key"], ["manufacturer", "serial", "key", "kcv"]):
        return "keylist"  # the header line MAN;SERIAL;KEY
    if any(spec is not None and spec.kind is not Kind.IGNORED for spec in specs):
        return "csv"
    if _is_key_line(first):
        return "keylist"
    return "csv"


def _is_key_line(line: str) -> bool:
    """True for ``[MAN;][SERIAL;]KEY[;KCV]``: at most four fields, one a long hex key."""
    fields = line.split(sniff_delimiter(line))
    return len(fields) <= 4 and any(_LONG_HEX.fullmatch(field.strip()) for field in fields)


def sniff_format(head: bytes, filename: str | None = None) -> str:
    """The format name for a file starting with ``head`` (and called ``filename``)."""
    extension = ""
    if filename and "." in filename:
        extension = "." + filename.rsplit(".", 1)[-1].lower()
    if head.startswith(b"PK\x03\x04"):
        return _zip_format(head, extension)
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if extension in (".kem", ".kem2") or body.startswith(b"<"):
        return "kem"
    if body.startswith((b"{", b"[")) or extension in (".json", ".jsonl", ".ndjson"):
        return "tts-json" if _TTS_JSON.search(body) else "json"
    return _text_format(body.decode("utf-8", errors="replace"))


class _Prefixed(io.RawIOBase):
    """A stream that replays ``head`` and then continues with the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the replayed head first, then from the stream."""
        view = memoryview(buffer).cast("B")
        if self._head.nbytes:
            n = min(len(view), self._head.nbytes)
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)


def parse(
    stream: BinaryIO,
    *,
    format: str | None = None,
    filename: str | None = None,
    options: ParseOptions = DEFAULT_OPTIONS,
) -> Iterator[ParsedItem]:
    """Parse an import file with the named parser, or the sniffed one when ``format`` is None.

    Yields :class:`DeviceRecord` and :class:`RecordError` items in file order; never raises
    on file content (a caller error such as an unknown format name raises ValueError).
    """
    if format is not None:
        if format not in PARSERS:
            raise ValueError(f"unknown import format {format!r}; use one of {sorted(PARSERS)}")
        return PARSERS[format](stream, options)
    head = stream.read(SNIFF_BYTES)
    if not head:
        return iter([RecordError(0, None, "the file is empty", Severity.FATAL)])
    name = sniff_format(head, filename)
    replay = io.BufferedReader(_Prefixed(head, stream))
    return PARSERS[name](replay, options)  # type: ignore[arg-type]
