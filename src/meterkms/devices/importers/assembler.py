"""Turns rows of cells into device records: syntax checks, keys, merging, duplicates.

Shared by every tabular parser (CSV, XLSX, JSON objects, The Things Stack). A file may give
one row per device (a column per key slot) or one row per key (a ``slot`` column, rows of one
device next to each other); both end up as one record per device. A serial seen again later
in the file is reported with both line numbers.

Memory: duplicate detection keeps one dict entry per serial (about 115 MB for a million
serials); everything else is per row.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from enum import Enum

from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import fields
from meterkms.devices.importers.columns import ColumnSpec, Kind, Planned
from meterkms.devices.importers.fields import FieldError
from meterkms.devices.importers.limits import DEFAULT_LIMITS, FatalFileError, ImportLimits
from meterkms.devices.importers.records import (
    DEVICE_ATTRIBUTES,
    DeviceRecord,
    KeyText,
    ParsedItem,
    RecordError,
)
from meterkms.vault.algorithms import Algorithm


class CellMarker(Enum):
    """Spreadsheet cells that hold no value to import."""

    FORMULA = "formula"
    ERROR = "error"


class NumberPolicy(Enum):
    """How non-text cell values are judged, per source format."""

    SPREADSHEET = "spreadsheet"  # numbers are Excel's conversions: always an error
    JSON = "json"  # JSON integers are fine for byte fields


_SPREADSHEET_NUMBER = (
    "the cell holds a number, not text; format the column as Text and enter the value "
    "again (Excel drops leading zeros and turns long hex values into numbers like 1.2E+30)"
)


def _non_text(spec: ColumnSpec, raw: object, policy: NumberPolicy) -> object:
    """Convert a cell that is not a string, or raise FieldError."""
    if raw is CellMarker.FORMULA:
        raise FieldError("the cell holds a formula; paste the values only")
    if raw is CellMarker.ERROR:
        raise FieldError("the cell holds a spreadsheet error value such as #N/A")
    if isinstance(raw, (datetime.date, datetime.time, datetime.timedelta)):
        raise FieldError("the cell holds a date or time; format the column as Text")
    if isinstance(raw, bool):
        raise FieldError("expected text, got true/false")
    if isinstance(raw, (int, float)):
        if policy is NumberPolicy.SPREADSHEET:
            raise FieldError(_SPREADSHEET_NUMBER)
        if spec.byte_field and isinstance(raw, int):
            return fields.byte_number(raw)
        raise FieldError("expected a JSON string, not a number")
    if isinstance(raw, list) and spec.name == "labels":
        if not all(isinstance(item, str) for item in raw):
            raise FieldError("expected a list of strings")
        return fields.labels(",".join(item.replace(",", " ") for item in raw))
    raise FieldError("expected a string")


def convert_cell(spec: ColumnSpec, raw: object, max_chars: int, numbers: NumberPolicy) -> object:
    """One cell checked and normalised; None for an empty cell; FieldError if invalid."""
    if isinstance(raw, str):
        raw = raw.strip()
        if not raw:
            return None
        if len(raw) > max_chars:
            raise FieldError(f"the value is longer than {max_chars:,} characters")
        return spec.convert(raw)
    return _non_text(spec, raw, numbers)


class _Row:
    """What the cells of one row said, before it becomes a record."""

    __slots__ = ("algorithms", "check_values", "errors", "keys", "serial", "slot", "values")

    def __init__(self) -> None:
        self.errors: list[RecordError] = []
        self.values: dict[str, object] = {}
        self.keys: list[tuple[KeySlot | None, str, str]] = []
        self.check_values: dict[KeySlot | None, tuple[str, str]] = {}
        self.algorithms: dict[KeySlot | None, Algorithm] = {}
        self.serial: str | None = None
        self.slot: KeySlot | None = None


class RecordAssembler:
    """Builds records from rows; call :meth:`add` per row, then :meth:`finish`.

    Rows whose plan has a ``slot`` column hold one key each: consecutive rows with the same
    serial are then one device.
    ``serial_fallback``: attribute used as serial when a row has none (TTS: the DevEUI).
    ``required``: attribute names or key slots every record must have.
    ``serial_optional``: a record may lack a serial (key lists of ``KEY`` lines).
    """

    def __init__(
        self,
        *,
        limits: ImportLimits = DEFAULT_LIMITS,
        numbers: NumberPolicy = NumberPolicy.SPREADSHEET,
        detect_duplicates: bool = True,
        default_slot: KeySlot = KeySlot.OMS,
        serial_fallback: str | None = None,
        required: Sequence[str | KeySlot] = (),
        required_reason: str = "",
        serial_optional: bool = False,
    ) -> None:
        self.limits = limits
        self.numbers = numbers
        self.default_slot = default_slot
        self.serial_fallback = serial_fallback
        self.required = tuple(required)
        self.required_reason = required_reason
        self.serial_optional = serial_optional
        self.rows = 0
        #: First line of every serial so far (None: duplicates are not checked).
        self.seen: dict[str, int] | None = {} if detect_duplicates else None
        self._pending: DeviceRecord | None = None
        self._last_serial: str | None = None
        self._plan: Sequence[Planned] | None = None
        self._serial_shown = "serial"
        self._has_slot_column = False

    def _learn(self, plan: Sequence[Planned]) -> None:
        """Remember what a plan says once (CSV and XLSX use one plan for every row)."""
        self._plan = plan
        self._serial_shown = next((c for _, s, c in plan if s.kind is Kind.SERIAL), "serial")
        self._has_slot_column = any(spec.kind is Kind.SLOT for _, spec, _ in plan)

    def add(self, line: int, cells: Sequence[object], plan: Sequence[Planned]) -> list[ParsedItem]:
        """Check one row; returns the problems and any record completed by it."""
        if plan is not self._plan:
            self._learn(plan)
        row = _Row()
        if not self._read(row, line, cells, plan):
            return []
        self.rows += 1
        if self.rows > self.limits.max_rows:
            raise FatalFileError(line, f"the file has more than {self.limits.max_rows:,} rows")
        errors = row.errors
        serial = row.serial
        if serial is None and self.serial_fallback is not None:
            serial = row.values.get(self.serial_fallback)  # type: ignore[assignment]
        key_map = self._keys(line, row, errors)
        # With a required fallback (TTS: the DevEUI) the missing fallback is reported instead.
        reported_elsewhere = self.serial_fallback in self.required
        missing = serial is None and not self.serial_optional and not reported_elsewhere
        if missing and not any(e.field == self._serial_shown for e in errors):
            errors.append(RecordError(line, self._serial_shown, "the serial number is missing"))
        self._check_required(line, row.values, key_map, plan, errors)
        record = None
        if not errors:
            record = DeviceRecord(line, serial, keys=key_map, **row.values)  # type: ignore[arg-type]
        return self._place(line, serial, record, errors)

    def _read(self, row: _Row, line: int, cells: Sequence[object], plan: Sequence[Planned]) -> bool:
        """Convert the planned cells into ``row``; False if every cell was empty."""
        count = len(cells)
        max_chars = self.limits.max_field_chars
        numbers = self.numbers
        filled = False
        for index, spec, shown in plan:
            raw = cells[index] if index < count else None
            if raw is None or raw == "":
                continue
            try:
                value = convert_cell(spec, raw, max_chars, numbers)
            except FieldError as problem:
                filled = True
                row.errors.append(RecordError(line, shown, str(problem)))
                continue
            if value is None:
                continue
            filled = True
            kind = spec.kind
            if kind is Kind.SERIAL:
                row.serial = value  # type: ignore[assignment]
            elif kind is Kind.ATTRIBUTE:
                row.values[spec.name] = value
            elif kind is Kind.KEY:
                row.keys.append((spec.slot, shown, value))  # type: ignore[arg-type]
            elif kind is Kind.CHECK_VALUE:
                row.check_values[spec.slot] = (shown, value)  # type: ignore[assignment]
            elif kind is Kind.SLOT:
                row.slot = value  # type: ignore[assignment]
            elif kind is Kind.ALGORITHM:
                row.algorithms[spec.slot] = value  # type: ignore[assignment]
        return filled

    def _keys(self, line: int, row: _Row, errors: list[RecordError]) -> dict[KeySlot, KeyText]:
        """The row's keys by slot, with their algorithm and check value."""
        has_slot_column = self._has_slot_column
        row_slot, algorithms = row.slot, row.algorithms
        found: dict[KeySlot, tuple[str, str]] = {}
        for slot, shown, hex_text in row.keys:
            if slot is None:
                if has_slot_column and row_slot is None:
                    errors.append(RecordError(line, shown, "the key slot of this row is missing"))
                    continue
                slot = row_slot or self.default_slot
            if slot in found:
                errors.append(RecordError(line, shown, f"a second {slot.value} key in this row"))
                continue
            found[slot] = (shown, hex_text)
        claimed: dict[KeySlot, str] = {}
        for slot, (shown, value) in row.check_values.items():
            target = slot
            if target is None:
                if len(found) != 1:
                    errors.append(
                        RecordError(line, shown, "a check value needs exactly one key in the row")
                    )
                    continue
                target = next(iter(found))
            if target not in found:
                errors.append(RecordError(line, shown, "a check value without its key"))
                continue
            claimed[target] = value
        for slot in algorithms:
            if slot is not None and slot not in found:
                errors.append(RecordError(line, None, f"an algorithm without a {slot.value} key"))
        row_algorithm = algorithms.get(None)
        return {
            slot: KeyText(hex_text, algorithms.get(slot, row_algorithm), claimed.get(slot))
            for slot, (_, hex_text) in found.items()
        }

    def _check_required(
        self,
        line: int,
        values: dict[str, object],
        keys: dict[KeySlot, KeyText],
        plan: Sequence[Planned],
        errors: list[RecordError],
    ) -> None:
        for name in self.required:
            present = name in keys if isinstance(name, KeySlot) else name in values
            if present:
                continue
            if isinstance(name, KeySlot):
                column = next((c for _, s, c in plan if s.slot is name), name.value)
            else:
                column = next((c for _, s, c in plan if s.name == name), name)
            if not any(e.field == column for e in errors):
                errors.append(RecordError(line, column, f"missing{self.required_reason}"))

    def _place(
        self,
        line: int,
        serial: str | None,
        record: DeviceRecord | None,
        errors: list[RecordError],
    ) -> list[ParsedItem]:
        pending = self._pending
        if self._has_slot_column and serial is not None and serial == self._last_serial:
            # The next row of the same device. If its first row was rejected there is
            # nothing to merge into; that device's problems are already reported.
            if pending is not None and record is not None:
                errors.extend(_merge(pending, record))
            return list(errors)
        self._last_serial = serial
        out: list[ParsedItem] = []
        if pending is not None:
            out.append(pending)
            self._pending = None
        if serial is not None and self.seen is not None:
            first = self.seen.get(serial)
            if first is None:
                self.seen[serial] = line
            else:
                errors.append(
                    RecordError(
                        line,
                        self._serial_shown,
                        f"duplicate serial number: it is already on line {first}",
                    )
                )
                record = None
        out.extend(errors)
        if record is not None and not errors:
            if self._has_slot_column:
                self._pending = record
            else:
                out.append(record)
        return out

    def take_batch(self, serials: list[str], lines: list[int]) -> bool:
        """Book a batch of records the fast path built, as :meth:`add` would have.

        Returns False, booking nothing, when the row path must see the batch instead: a
        record is held back for merging, the row limit would be passed, or a serial repeats.
        """
        count = len(serials)
        if self._pending is not None or self.rows + count > self.limits.max_rows:
            return False
        if self.seen is not None:
            unique = set(serials)
            if len(unique) != count or not self.seen.keys().isdisjoint(unique):
                return False
            self.seen.update(zip(serials, lines, strict=True))
        self.rows += count
        self._last_serial = serials[-1] if serials else self._last_serial
        return True

    def finish(self) -> list[ParsedItem]:
        """The last record still held back for merging, if any."""
        pending, self._pending = self._pending, None
        return [pending] if pending is not None else []


def _merge(into: DeviceRecord, extra: DeviceRecord) -> list[RecordError]:
    """Add the next row of the same device to ``into``; conflicts become errors."""
    problems: list[RecordError] = []
    for name in DEVICE_ATTRIBUTES:
        new = getattr(extra, name)
        if new is None or new == ():
            continue
        old = getattr(into, name)
        if old is None or old == ():
            setattr(into, name, new)
        elif old != new:
            problems.append(
                RecordError(extra.line, name, f"differs from line {into.line} of the same serial")
            )
    for slot, key in extra.keys.items():
        if slot in into.keys:
            problems.append(
                RecordError(
                    extra.line,
                    "slot",
                    f"a second {slot.value} key for this serial (first on line {into.line})",
                )
            )
        else:
            into.keys[slot] = key
    return problems
