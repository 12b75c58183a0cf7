"""A column-wise fast path for clean batches of CSV rows, with the row path as its fallback.

Checking a million rows cell by cell in Python costs several microseconds per row. Here a
batch is checked one column at a time: the column's cells joined with newlines are matched by
one regular expression (serials, keys, EUIs, addresses), or each distinct value is checked
once (versions, media, device types). Only a batch where every cell is valid, no serial
repeats and every row has the header's width takes this path; anything else goes through
:meth:`RecordAssembler.add` row by row, so problems are found and worded in one place.

Invariant (property-tested): for every batch the fast path accepts, it yields exactly the
records the row path would.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import repeat

from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import fields
from meterkms.devices.importers.assembler import RecordAssembler, convert_cell
from meterkms.devices.importers.columns import Kind, Planned
from meterkms.devices.importers.fields import FieldError
from meterkms.devices.importers.records import DEVICE_ATTRIBUTES, DeviceRecord, KeyText, ParsedItem

# Cell syntax per converter, for cells that need no stripping; the flag says whether the
# value is upper-cased after matching (as the converter does).
_PATTERNS: dict[object, tuple[str, bool]] = {
    fields.serial: (r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}", False),
    fields.meter_address: (r"[0-9]{8}", False),
    fields.eui: (r"[0-9A-Fa-f]{16}", True),
    fields.dev_addr: (r"[0-9A-Fa-f]{8}", True),
    fields.check_value: (r"[0-9A-Fa-f]{2,32}", True),
}
_COMPILED: dict[tuple[str, bool], re.Pattern[str]] = {}


def _column_pattern(cell: str, required: bool) -> re.Pattern[str]:
    """A pattern for a whole column joined by newlines (empty cells allowed unless required)."""
    compiled = _COMPILED.get((cell, required))
    if compiled is None:
        one = f"(?:{cell})" if required else f"(?:{cell})?"
        compiled = _COMPILED[(cell, required)] = re.compile(f"{one}(?:\n{one})*")
    return compiled


class _Fallback(Exception):
    """The batch needs the row path."""


def _by_pattern(cells: list[str], pattern: str, upper: bool, required: bool) -> list[object]:
    joined = "\n".join(cells)
    # A cell with its own line break (a quoted CSV field) would pass as two cells.
    if joined.count("\n") != len(cells) - 1:
        raise _Fallback
    if not _column_pattern(pattern, required).fullmatch(joined):
        raise _Fallback
    values: list[object] = joined.upper().split("\n") if upper else list(cells)
    if not required and not all(values):
        values = [value or None for value in values]
    return values


def _by_value(assembler: RecordAssembler, spec_cells: list[str], planned: Planned) -> list[object]:
    """Convert each distinct cell once (few distinct values: versions, media, types)."""
    _, spec, _ = planned
    limit = assembler.limits.max_field_chars
    try:
        table = {raw: convert_cell(spec, raw, limit, assembler.numbers) for raw in set(spec_cells)}
    except FieldError:
        raise _Fallback from None
    return list(map(table.__getitem__, spec_cells))


def _column(
    assembler: RecordAssembler, rows: Sequence[Sequence[str]], planned: Planned, required: bool
) -> list[object]:
    index, spec, _ = planned
    cells = [row[index] for row in rows]
    if spec.convert is fields.key_hex:
        pairs = max(1, assembler.limits.max_field_chars // 2)
        return _by_pattern(cells, f"(?:[0-9A-Fa-f]{{2}}){{1,{pairs}}}", True, required)
    known = _PATTERNS.get(spec.convert)
    if known is not None:
        return _by_pattern(cells, known[0], known[1], required)
    values = _by_value(assembler, cells, planned)
    if required and None in values:
        raise _Fallback
    return values


def _eligible(assembler: RecordAssembler, plan: Sequence[Planned]) -> bool:
    kinds = {spec.kind for _, spec, _ in plan}
    if Kind.SLOT in kinds or Kind.ALGORITHM in kinds:
        return False
    generic = [spec for _, spec, _ in plan if spec.kind is Kind.CHECK_VALUE and spec.slot is None]
    slots = [spec.slot or assembler.default_slot for _, spec, _ in plan if spec.kind is Kind.KEY]
    return not generic and len(set(slots)) == len(slots)


def _required_names(assembler: RecordAssembler, plan: Sequence[Planned]) -> set[str]:
    names = {spec.name for _, spec, _ in plan}
    serial_name = "serial" if "serial" in names else assembler.serial_fallback
    if serial_name not in names:
        raise _Fallback  # no serial at all (a JSON object can lack one): the row path says so
    required = {serial_name}
    for need in assembler.required:
        if isinstance(need, KeySlot):
            column = next(
                (s.name for _, s, _ in plan if s.kind is Kind.KEY and s.slot is need), None
            )
            if column is None:
                raise _Fallback
            required.add(column)
        elif need in names:
            required.add(need)
        else:
            raise _Fallback
    return required


def _keys(
    assembler: RecordAssembler,
    columns: dict[str, list[object]],
    plan: Sequence[Planned],
    n: int,
) -> list[dict[KeySlot, KeyText]]:
    key_columns = [spec for _, spec, _ in plan if spec.kind is Kind.KEY]
    key_maps: list[dict[KeySlot, KeyText]] | None = None
    for spec in key_columns:
        slot = spec.slot or assembler.default_slot
        claims = columns.get(f"{spec.name}_kcv")
        hexes = columns[spec.name]
        if claims is not None and any(
            c is not None and k is None for k, c in zip(hexes, claims, strict=True)
        ):
            raise _Fallback  # a check value without its key: let the row path word it
        if key_maps is None and claims is None and len(key_columns) == 1 and all(hexes):
            # The common case, one key per row: build the maps in one pass.
            return [{slot: KeyText(h)} for h in hexes]  # type: ignore[arg-type]
        if key_maps is None:
            key_maps = [{} for _ in range(n)]
        for key_map, hex_text, claim in zip(key_maps, hexes, claims or repeat(None), strict=False):
            if hex_text is not None:
                key_map[slot] = KeyText(hex_text, None, claim)  # type: ignore[arg-type]
    return key_maps if key_maps is not None else [{} for _ in range(n)]


def fast_batch(
    assembler: RecordAssembler,
    lines: list[int],
    rows: list[list[str]],
    plan: Sequence[Planned],
    width: int,
) -> list[ParsedItem] | None:
    """The records of a clean batch, or None when the batch must take the row path."""
    n = len(rows)
    if not n or not _eligible(assembler, plan) or min(map(len, rows)) != width:
        return None
    try:
        required = _required_names(assembler, plan)
        columns = {
            spec.name: _column(assembler, rows, planned, spec.name in required)
            for planned in plan
            if (spec := planned[1]).kind is not Kind.IGNORED
        }
        key_maps = _keys(assembler, columns, plan, n)
    except _Fallback:
        return None
    serials = columns["serial"] if "serial" in columns else columns[assembler.serial_fallback or ""]
    if not assembler.take_batch(serials, lines):  # type: ignore[arg-type]
        return None
    attributes = [columns.get(name) or repeat(None) for name in DEVICE_ATTRIBUTES]
    labels = columns.get("labels")
    attributes[-1] = [value or () for value in labels] if labels is not None else repeat(())
    return list(map(DeviceRecord, lines, serials, *attributes, key_maps))  # type: ignore[arg-type]
