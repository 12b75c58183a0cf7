"""Simple key lists: ``MAN;SERIAL;KEY`` lines and wmbusmeters meter files.

``MAN;SERIAL;KEY`` (German reading portals): one meter per line, ``MAN`` and ``SERIAL``
optional (``SERIAL;KEY`` or ``KEY``), an optional fourth field with the key check value.
The delimiter is ``;`` unless the first line has none and a ``,`` or TAB. Blank lines and
lines starting with ``#`` are skipped; a first line of words only (``MAN;SERIAL;KEY``) is a
header. An 8-digit serial is also the meter's wM-Bus address. Keys go to the OMS slot.

wmbusmeters meter files: ``key=value`` lines (``name``, ``driver``, ``id``, ``key``), one
meter per block; a blank line or a second ``name=`` starts the next meter. ``name`` is the
serial (``id`` when there is no name), ``id`` the 8-digit address, ``key=NOKEY`` no key, and a
``#kcv=…`` comment the key check value. Other settings (``shell``, ``json_*``, …) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from meterkms.devices.importers.assembler import NumberPolicy, RecordAssembler
from meterkms.devices.importers.base import DEFAULT_OPTIONS, ParseOptions, guarded
from meterkms.devices.importers.columns import SPECS, Planned
from meterkms.devices.importers.limits import FatalFileError
from meterkms.devices.importers.records import DeviceRecord, ParsedItem, RecordError
from meterkms.devices.importers.textio import TextLines

_BATCH = 1000
_WORDS = re.compile(r"[^\W\d_]+(?:[ _.-][^\W\d_]+)*")
_DIGITS8 = re.compile(r"[0-9]{8}")
_MAN, _SERIAL, _KEY, _KCV = (
    SPECS["manufacturer"],
    SPECS["serial"],
    SPECS["oms_key"],
    SPECS["oms_key_kcv"],
)

#: Plans by number of fields on a line.
_PLANS: dict[int, list[Planned]] = {
    1: [(0, _KEY, "KEY")],
    2: [(0, _SERIAL, "SERIAL"), (1, _KEY, "KEY")],
    3: [(0, _MAN, "MAN"), (1, _SERIAL, "SERIAL"), (2, _KEY, "KEY")],
    4: [(0, _MAN, "MAN"), (1, _SERIAL, "SERIAL"), (2, _KEY, "KEY"), (3, _KCV, "KCV")],
}


def _with_address(items: list[ParsedItem]) -> list[ParsedItem]:
    """An 8-digit serial of a key list is the meter's wM-Bus address too."""
    for item in items:
        if type(item) is DeviceRecord and item.serial and _DIGITS8.fullmatch(item.serial):
            item.meter_address = item.serial
    return items


def _key_list(stream: BinaryIO, options: ParseOptions) -> Iterator[list[ParsedItem]]:
    assembler = RecordAssembler(
        limits=options.limits,
        numbers=NumberPolicy.SPREADSHEET,
        detect_duplicates=options.detect_duplicates,
        serial_optional=True,
    )
    delimiter = options.delimiter
    first = True
    batch: list[ParsedItem] = []
    source = TextLines(stream, encoding=options.encoding, limits=options.limits)
    for number, raw in enumerate(source, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if delimiter is None:
            delimiter = next((d for d in (";", ",", "\t") if d in text), ";")
        cells = [cell.strip() for cell in text.split(delimiter)]
        if first and all(_WORDS.fullmatch(cell) for cell in cells):
            first = False
            continue  # a header line such as MAN;SERIAL;KEY
        first = False
        plan = _PLANS.get(len(cells))
        if plan is None:
            batch.append(
                RecordError(number, None, f"expected MAN;SERIAL;KEY, got {len(cells)} fields")
            )
        else:
            batch.extend(_with_address(assembler.add(number, cells, plan)))
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    yield batch
    if first:
        raise FatalFileError(0, "the file holds no keys")


_METER_FIELDS = {
    "name": (SPECS["serial"], "name"),
    "id": (SPECS["meter_address"], "id"),
    "key": (SPECS["oms_key"], "key"),
    "#kcv": (SPECS["oms_key_kcv"], "#kcv"),
}


def _meter(assembler: RecordAssembler, line: int, found: dict[str, str]) -> list[ParsedItem]:
    cells: list[object] = []
    plan: list[Planned] = []
    for name, (spec, shown) in _METER_FIELDS.items():
        value = found.get(name)
        if value is None or (name == "key" and value.upper() == "NOKEY"):
            continue
        plan.append((len(cells), spec, shown))
        cells.append(value)
    return assembler.add(line, cells, plan)


def _meter_files(stream: BinaryIO, options: ParseOptions) -> Iterator[list[ParsedItem]]:
    assembler = RecordAssembler(
        limits=options.limits,
        numbers=NumberPolicy.SPREADSHEET,
        detect_duplicates=options.detect_duplicates,
        serial_fallback="meter_address",
    )
    batch: list[ParsedItem] = []
    found: dict[str, str] = {}
    start = 0
    source = TextLines(stream, encoding=options.encoding, limits=options.limits)
    for number, raw in enumerate(source, start=1):
        text = raw.strip()
        name, separator, value = text.partition("=")
        name = name.strip().lower()
        if found and (not text or (name == "name" and "name" in found)):
            batch.extend(_meter(assembler, start, found))
            found = {}
        if not text or (text.startswith("#") and name != "#kcv"):
            continue
        if not separator:
            batch.append(RecordError(number, None, "expected a setting such as key=…"))
            continue
        if not found:
            start = number
        found.setdefault(name, value.strip())
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if found:
        batch.extend(_meter(assembler, start, found))
    yield batch
    if start == 0:
        raise FatalFileError(0, "the file holds no meters")


def parse_key_list(
    stream: BinaryIO, options: ParseOptions = DEFAULT_OPTIONS
) -> Iterator[ParsedItem]:
    """Parse ``MAN;SERIAL;KEY`` lines (MAN and SERIAL optional)."""
    return guarded(_key_list(stream, options))


def parse_wmbusmeters(
    stream: BinaryIO, options: ParseOptions = DEFAULT_OPTIONS
) -> Iterator[ParsedItem]:
    """Parse wmbusmeters meter files (``name=``, ``driver=``, ``id=``, ``key=`` blocks)."""
    return guarded(_meter_files(stream, options))
