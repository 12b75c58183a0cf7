"""JSON imports: the generic schema and The Things Stack's end-device JSON.

Generic: an array of objects or JSON Lines, one object per device (or per key, with a
``slot`` field, objects of one device next to each other). Field names are the CSV column
names and aliases. Keys may also come nested::

    {"serial": "A1", "manufacturer": "AMT", "meter_address": "12345678",
     "keys": [{"slot": "OMS", "algorithm": "AES128", "key": "…", "kcv": "…"}]}

or ``"keys": {"OMS": "…"}``. Identifiers must be JSON strings (numbers lose leading zeros);
``version`` and ``medium`` may be integers 0–255 and ``labels`` a list of strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from meterkms.devices.importers import fields
from meterkms.devices.importers.assembler import NumberPolicy, RecordAssembler
from meterkms.devices.importers.base import DEFAULT_OPTIONS, ParseOptions, guarded
from meterkms.devices.importers.columns import (
    ALIASES,
    SLOT_COLUMNS,
    SPECS,
    ColumnSpec,
    Planned,
    normalise_mapping,
    resolve_header,
    safe_name,
    squash,
)
from meterkms.devices.importers.delimited import BATCH_ROWS
from meterkms.devices.importers.fastpath import fast_batch
from meterkms.devices.importers.fields import FieldError
from meterkms.devices.importers.jsonstream import JsonValues
from meterkms.devices.importers.limits import FatalFileError
from meterkms.devices.importers.profiles import GENERIC, TTS, tts_session_keys
from meterkms.devices.importers.records import DeviceRecord, ParsedItem, RecordError, Severity
from meterkms.devices.importers.textio import TextLines

_CHUNK = 512
_NOT_OBJECT = "expected a JSON object for each device"


class _Cells:
    """Cells and plan of one object, built field by field."""

    def __init__(self) -> None:
        self.cells: list[object] = []
        self.plan: list[Planned] = []

    def add(self, spec: ColumnSpec, shown: str, value: object) -> None:
        """Add one cell and its plan entry."""
        self.plan.append((len(self.cells), spec, shown))
        self.cells.append(value)


def _nested_key(
    cells: _Cells, where: str, slot_text: object, entry: object, errors: list[RecordError]
) -> None:
    """One entry of a ``keys`` list or object: a hex string or ``{key, algorithm, kcv}``."""
    if not isinstance(slot_text, str):
        errors.append(RecordError(0, f"{where}.slot", "expected the key slot as a string"))
        return
    try:
        slot = fields.slot(slot_text.strip())
    except FieldError as problem:
        errors.append(RecordError(0, f"{where}.slot", str(problem)))
        return
    column = SLOT_COLUMNS[slot]
    if not isinstance(entry, dict):
        cells.add(SPECS[column], f"{where}", entry)
        return
    for name, value in entry.items():
        part = squash(name)
        if part == "key":
            cells.add(SPECS[column], f"{where}.key", value)
        elif part in ("kcv", "checkvalue", "keycheckvalue"):
            cells.add(SPECS[f"{column}_kcv"], f"{where}.{name}", value)
        elif part == "algorithm":
            cells.add(SPECS[f"{column}_algorithm"], f"{where}.algorithm", value)


def _nested_keys(cells: _Cells, value: object, errors: list[RecordError]) -> None:
    if isinstance(value, list):
        for index, entry in enumerate(value):
            where = f"keys[{index}]"
            if not isinstance(entry, dict):
                errors.append(RecordError(0, where, "expected an object with slot and key"))
                continue
            _nested_key(cells, where, entry.get("slot"), entry, errors)
    elif isinstance(value, dict):
        for slot_text, entry in value.items():
            shown = safe_name(slot_text) or "keys"
            _nested_key(cells, f"keys.{shown}", slot_text, entry, errors)
    else:
        errors.append(RecordError(0, "keys", "expected a list or an object of keys"))


class _GenericObjects:
    """Plans for generic JSON objects; unknown fields are warned about once per name."""

    def __init__(self, options: ParseOptions) -> None:
        self.mapping = normalise_mapping(options.mapping)
        self.warned: set[str] = set()
        self._plans: dict[tuple[str, ...], tuple[list[Planned], list[RecordError]]] = {}

    def flat_plan(self, obj: dict[str, object]) -> tuple[list[Planned], list[RecordError]] | None:
        """The plan of an object without nested ``keys``, cached by its field names.

        Objects from one producer share their field names, so the names are resolved once
        and the object's values can be checked as a row (and in batches). Returns None
        for objects with nested keys. Warnings come back only the first time.
        """
        names = tuple(obj)
        cached = self._plans.get(names)
        if cached is not None:
            return cached[0], cached[1]
        if any(squash(name) == "keys" for name in names):
            return None
        cells, problems = self.cells(dict.fromkeys(names, ""))
        blocking = [p for p in problems if p.blocking]
        if len(self._plans) < 1000:
            self._plans[names] = (cells.plan, blocking)
        return cells.plan, problems

    def cells(self, obj: dict[str, object]) -> tuple[_Cells, list[RecordError]]:
        """The cells of one object, and its problems (line 0: the caller sets the line)."""
        cells = _Cells()
        problems: list[RecordError] = []
        used: set[str] = set()
        for name, value in obj.items():
            if squash(name) == "keys":
                _nested_keys(cells, value, problems)
                continue
            spec, mapped = resolve_header(name, self.mapping, ALIASES)
            shown = safe_name(name)
            if spec is None:
                if not mapped and name not in self.warned and len(self.warned) < 100:
                    self.warned.add(name)
                    message = "unknown field, ignored" if shown else "an unknown field is ignored"
                    problems.append(RecordError(0, shown, message, Severity.WARNING))
                continue
            if spec.name in used:
                problems.append(
                    RecordError(0, shown or spec.name, f"a second field for {spec.name}")
                )
                continue
            used.add(spec.name)
            cells.add(spec, shown or spec.name, value)
        return cells, problems


def _tts_cells(obj: dict[str, object]) -> tuple[_Cells, list[RecordError]]:
    """The fields of one TTS end device (EndDevice JSON) that a record needs."""
    cells = _Cells()
    problems: list[RecordError] = []
    for path, spec in _TTS_PATHS:
        node: object = obj
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            parent: object = obj
            for part in path[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else None
            if isinstance(parent, dict) and "encrypted_key" in parent:
                message = "the key is wrapped (encrypted_key); export the devices with plain keys"
                problems.append(RecordError(0, ".".join(path), message))
            continue
        cells.add(spec, ".".join(path), node)
    return cells, problems


_TTS_PATHS: tuple[tuple[tuple[str, ...], ColumnSpec], ...] = (
    (("ids", "dev_eui"), SPECS["dev_eui"]),
    (("ids", "join_eui"), SPECS["join_eui"]),
    (("ids", "app_eui"), SPECS["join_eui"]),  # the name before LoRaWAN 1.0.4
    (("lorawan_version",), SPECS["lorawan_version"]),
    (("root_keys", "app_key", "key"), SPECS["app_key"]),
    (("root_keys", "nwk_key", "key"), SPECS["nwk_key"]),
    (("session", "dev_addr"), SPECS["dev_addr"]),
    (("session", "keys", "app_s_key", "key"), SPECS["app_s_key"]),
    (("session", "keys", "f_nwk_s_int_key", "key"), SPECS["f_nwk_s_int_key"]),
    (("session", "keys", "s_nwk_s_int_key", "key"), SPECS["s_nwk_s_int_key"]),
    (("session", "keys", "nwk_s_enc_key", "key"), SPECS["nwk_s_enc_key"]),
    (("attributes", "serial"), SPECS["serial"]),
    (("attributes", "app-key-kcv"), SPECS["app_key_kcv"]),
    (("attributes", "nwk-key-kcv"), SPECS["nwk_key_kcv"]),
)


def _tts_objects(
    stream: BinaryIO, options: ParseOptions, assembler: RecordAssembler
) -> Iterator[list[ParsedItem]]:
    source = TextLines(stream, encoding=options.encoding, limits=options.limits)
    batch: list[ParsedItem] = []
    try:
        for line, obj in JsonValues(source):
            if not isinstance(obj, dict):
                batch.append(RecordError(line, None, _NOT_OBJECT))
                continue
            cells, problems = _tts_cells(obj)
            batch.extend(RecordError(line, p.field, p.message, p.severity) for p in problems)
            if not any(p.blocking for p in problems):
                for item in assembler.add(line, cells.cells, cells.plan):
                    if type(item) is DeviceRecord:
                        tts_session_keys(item)
                    batch.append(item)
            if len(batch) >= _CHUNK:
                yield batch
                batch = []
    except (FatalFileError, RecursionError):
        yield batch  # what was found before the stop, then the stop itself
        raise
    batch.extend(assembler.finish())
    yield batch


class _FlatRows:
    """Consecutive flat objects with one plan, checked together (fast path when all text)."""

    def __init__(self, assembler: RecordAssembler) -> None:
        self.assembler = assembler
        self.plan: list[Planned] | None = None
        self.lines: list[int] = []
        self.rows: list[list[object]] = []

    def add(self, line: int, plan: list[Planned], row: list[object]) -> list[ParsedItem]:
        """Queue one object's values; returns items of a batch completed before it."""
        out = self.flush() if plan is not self.plan or len(self.rows) >= BATCH_ROWS else []
        self.plan = plan
        self.lines.append(line)
        self.rows.append(row)
        return out

    def flush(self) -> list[ParsedItem]:
        """Check the queued objects; their items in file order."""
        items: list[ParsedItem] | None = None
        plan, lines, rows = self.plan, self.lines, self.rows
        if plan is not None and rows and all(type(v) is str for row in rows for v in row):
            items = fast_batch(self.assembler, lines, rows, plan, len(rows[0]))  # type: ignore[arg-type]
        if items is None:
            items = []
            for line, row in zip(lines, rows, strict=True):
                items.extend(self.assembler.add(line, row, plan or []))
        self.lines, self.rows = [], []
        return items


def _generic_objects(
    stream: BinaryIO, options: ParseOptions, assembler: RecordAssembler
) -> Iterator[list[ParsedItem]]:
    source = TextLines(stream, encoding=options.encoding, limits=options.limits)
    generic = _GenericObjects(options)
    flat = _FlatRows(assembler)
    batch: list[ParsedItem] = []
    try:
        for line, obj in JsonValues(source):
            planned = generic.flat_plan(obj) if isinstance(obj, dict) else None
            warned: list[RecordError] = []
            if planned is not None:
                plan, problems = planned
                warned = [p for p in problems if not p.blocking]
                if warned:
                    batch.extend(flat.flush())
                    batch.extend(RecordError(line, p.field, p.message, p.severity) for p in warned)
            if planned is not None and len(warned) == len(planned[1]):
                batch.extend(flat.add(line, plan, list(obj.values())))  # type: ignore[union-attr]
            else:
                batch.extend(flat.flush())
                batch.extend(_one_object(line, obj, generic, assembler))
            if len(batch) >= _CHUNK:
                yield batch
                batch = []
    except (FatalFileError, RecursionError):
        batch.extend(flat.flush())
        yield batch  # what was found before the stop, then the stop itself
        raise
    batch.extend(flat.flush())
    batch.extend(assembler.finish())
    yield batch


def _one_object(
    line: int, obj: object, generic: _GenericObjects, assembler: RecordAssembler
) -> list[ParsedItem]:
    """A non-object value, an object with nested keys, or one with a blocking field problem."""
    if not isinstance(obj, dict):
        return [RecordError(line, None, _NOT_OBJECT)]
    cells, problems = generic.cells(obj)
    items: list[ParsedItem] = [RecordError(line, p.field, p.message, p.severity) for p in problems]
    if not any(p.blocking for p in problems):
        items.extend(assembler.add(line, cells.cells, cells.plan))
    return items


def parse_json(stream: BinaryIO, options: ParseOptions = DEFAULT_OPTIONS) -> Iterator[ParsedItem]:
    """Parse generic JSON: an array of device objects or JSON Lines (see docs/formats.md)."""
    assembler = GENERIC.assembler(options, NumberPolicy.JSON)
    return guarded(_generic_objects(stream, options, assembler))


def parse_tts_json(
    stream: BinaryIO, options: ParseOptions = DEFAULT_OPTIONS
) -> Iterator[ParsedItem]:
    """Parse The Things Stack end-device JSON (concatenated objects, ``ids``, ``root_keys``)."""
    assembler = TTS.assembler(options, NumberPolicy.JSON)
    return guarded(_tts_objects(stream, options, assembler))
