"""Shared by the importer tests: run a parser on bytes and split what it yields."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator

from meterkms.devices.importers import DeviceRecord, ParseOptions, RecordError
from meterkms.devices.importers.records import ParsedItem, Severity

Parser = Callable[..., Iterator[ParsedItem]]


def run(parser: Parser, data: bytes | str, **options: object) -> list[ParsedItem]:
    """All items ``parser`` yields for ``data`` (str is encoded as UTF-8)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return list(parser(io.BytesIO(raw), ParseOptions(**options)))  # type: ignore[arg-type]


def records(items: list[ParsedItem]) -> list[DeviceRecord]:
    return [item for item in items if isinstance(item, DeviceRecord)]


def errors(items: list[ParsedItem]) -> list[RecordError]:
    return [item for item in items if isinstance(item, RecordError) and item.blocking]


def warnings(items: list[ParsedItem]) -> list[RecordError]:
    return [item for item in items if isinstance(item, RecordError) and not item.blocking]


def fatal(items: list[ParsedItem]) -> list[RecordError]:
    return [i for i in items if isinstance(i, RecordError) and i.severity is Severity.FATAL]


def random_key(length: int = 16) -> str:
    """A random key as upper-case hex."""
    return os.urandom(length).hex().upper()


def leaks(items: list[ParsedItem], secrets: list[str], window: int = 8) -> list[str]:
    """Problem texts that contain any ``window``-character piece of any secret (any case)."""
    pieces = {
        secret[i : i + window].upper()
        for secret in secrets
        for i in range(max(1, len(secret) - window + 1))
    }
    found = []
    for item in items:
        if isinstance(item, RecordError):
            text = str(item).upper()
            if any(piece in text for piece in pieces):
                found.append(str(item))
    return found
