"""The key check values a manifest lists: one entry per device key, a million in a big export.

:class:`KeyCheck` is one entry. :class:`KeyCheckList` holds many of them packed as text lines
in large blocks, so that a million entries cost tens of megabytes instead of a million
objects (~190 bytes each, and a fragmented heap); it validates each entry, refuses a second
entry for the same device and slot, and counts devices as entries arrive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from meterkms.devices.enums import SLOT_ALGORITHMS, KeySlot
from meterkms.vault.algorithms import Algorithm

KCV_PATTERN = re.compile(r"[0-9A-F]{6}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
KCV_LINES = re.compile(r"[0-9A-F]{6}(?:\n[0-9A-F]{6})*")
_SLOT_ALGORITHM_PAIRS = frozenset(
    (slot, algorithm) for slot, algorithms in SLOT_ALGORITHMS.items() for algorithm in algorithms
)


class ManifestError(ValueError):
    """A manifest is invalid; the message names the field."""


def check_text(value: object, field: str, *, max_length: int = 254, empty: bool = True) -> str:
    """``value`` if it is text of at most ``max_length`` characters without control ones."""
    if not isinstance(value, str):
        raise ManifestError(f"{field}: expected text, got {type(value).__name__}")
    if len(value) > max_length or CONTROL.search(value) or (not empty and not value):
        limit = f"at most {max_length}" if empty else f"1 to {max_length}"
        raise ManifestError(f"{field}: must be {limit} characters without control characters")
    return value


def check_match(pattern: re.Pattern[str], value: object, field: str, expected: str) -> str:
    """``value`` if it is text matching ``pattern`` entirely."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ManifestError(f"{field}: expected {expected}, got {value!r}")
    return value


def _plainly_valid(device: object, slot: object, algorithm: object, kcv: object) -> bool:
    """The common, valid entry, recognised with a few C-level checks."""
    return (
        type(device) is str
        and 0 < len(device) <= 128
        and type(kcv) is str
        and KCV_PATTERN.fullmatch(kcv) is not None
        and (slot, algorithm) in _SLOT_ALGORITHM_PAIRS
        and not CONTROL.search(device)
    )


def entry_json(device: str, slot: str, algorithm: str, kcv: str) -> str:
    """One entry as the manifest writes it: exactly ``json.dumps(…, ensure_ascii=False)``."""
    if '"' in device or "\\" in device:
        entry = {"device": device, "slot": slot, "algorithm": algorithm, "kcv": kcv}
        return json.dumps(entry, ensure_ascii=False)
    # Nothing needs escaping: control characters are refused; slots, algorithms and check
    # values are plain ASCII names.
    return f'{{"device": "{device}", "slot": "{slot}", "algorithm": "{algorithm}", "kcv": "{kcv}"}}'


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """One device key as the manifest lists it: where it belongs and its key check value."""

    device: str
    slot: KeySlot
    algorithm: Algorithm
    kcv: str

    def __post_init__(self) -> None:
        slot, algorithm = self.slot, self.algorithm
        if _plainly_valid(self.device, slot, algorithm, self.kcv):
            if type(slot) is not KeySlot:
                object.__setattr__(self, "slot", KeySlot(slot))
            if type(algorithm) is not Algorithm:
                object.__setattr__(self, "algorithm", Algorithm(algorithm))
            return
        self._check_slowly()

    def _check_slowly(self) -> None:
        """The full checks, for the message that names what is wrong."""
        check_text(self.device, "key_check_values.device", max_length=128, empty=False)
        try:
            slot, algorithm = KeySlot(self.slot), Algorithm(self.algorithm)
        except ValueError as error:
            raise ManifestError(f"key_check_values of {self.device!r}: {error}") from None
        if algorithm not in SLOT_ALGORITHMS[slot]:
            raise ManifestError(f"{self.device!r}: slot {slot} cannot hold a {algorithm} key")
        object.__setattr__(self, "slot", slot)
        object.__setattr__(self, "algorithm", algorithm)
        check_match(
            KCV_PATTERN, self.kcv, f"key check value of {self.device!r}", "6 upper-case hex digits"
        )

    def json_text(self) -> str:
        """``as_json()`` encoded as the manifest writes it."""
        return entry_json(self.device, self.slot.value, self.algorithm.value, self.kcv)

    def as_json(self) -> dict[str, str]:
        """The JSON object of this entry, fields in manifest order."""
        return {
            "device": self.device,
            "slot": str(self.slot),
            "algorithm": str(self.algorithm),
            "kcv": self.kcv,
        }


def _twice(device: str, slot: object) -> ManifestError:
    return ManifestError(f"device {device!r} lists slot {slot} twice")


class KeyCheckList(Sequence[KeyCheck]):
    """Key check values packed as ``device TAB slot TAB algorithm TAB kcv`` lines in blocks.

    Entries arrive in the export's order. While devices come in order (exports are sorted by
    serial), a repeat can only follow its twin, so repeats are found and devices counted in
    constant memory; an out-of-order device switches to sets. A device name cannot hold a
    tab or line break (control characters are refused), so the packing is unambiguous.
    """

    BLOCK = 4096

    def __init__(self, checks: Iterable[KeyCheck] = ()) -> None:
        self._blocks: list[str] = []
        self._pending: list[str] = []
        self._count = 0
        self._devices = 0
        self._last: str | None = None
        self._slots: set[str] = set()
        self._pairs: set[tuple[str, str]] | None = None
        self._device_set: set[str] = set()
        for check in checks:
            self.append(check.device, check.slot, check.algorithm, check.kcv)

    def append(
        self, device: str, slot: KeySlot | str, algorithm: Algorithm | str, kcv: str
    ) -> None:
        """Add one entry; ManifestError for an invalid entry or a repeated device and slot."""
        if not _plainly_valid(device, slot, algorithm, kcv):
            KeyCheck(device, slot, algorithm, kcv)  # type: ignore[arg-type] # raises the message
        slot_name, algorithm_name = str(slot), str(algorithm)
        self._note(device, slot_name)
        self._pending.append(f"{device}\t{slot_name}\t{algorithm_name}\t{kcv}")
        self._count += 1
        if len(self._pending) >= self.BLOCK:
            self._blocks.append("\n".join(self._pending))
            self._pending = []

    def extend(
        self,
        devices: list[str],
        slots: list[KeySlot] | list[str],
        algorithms: list[Algorithm] | list[str],
        kcvs: list[str],
    ) -> None:
        """Add many entries, column by column: the checks of :meth:`append` as a few C-level
        calls per batch. Any doubt (an invalid or out-of-order entry) takes the entry path."""
        if not devices:
            return
        distinct = self._batch_devices(devices, slots, algorithms, kcvs)
        if distinct is None:
            for entry in zip(devices, slots, algorithms, kcvs, strict=True):
                self.append(*entry)
            return
        last = devices[-1]
        self._slots = {
            str(slot) for device, slot in zip(devices, slots, strict=True) if device == last
        }
        self._devices += distinct
        self._last = last
        self._pending.extend(map("\t".join, zip(devices, slots, algorithms, kcvs, strict=True)))  # type: ignore[arg-type]
        self._count += len(devices)
        while len(self._pending) >= self.BLOCK:
            self._blocks.append("\n".join(self._pending[: self.BLOCK]))
            del self._pending[: self.BLOCK]

    def _batch_devices(
        self, devices: list[str], slots: list[object], algorithms: list[object], kcvs: list[str]
    ) -> int | None:
        """The number of distinct devices of a plainly valid, ordered, new batch without
        repeats; None when the batch needs the entry-by-entry path."""
        try:
            names, checks = "\n".join(devices), "\n".join(kcvs)
        except TypeError:
            return None
        plain = (
            self._pairs is None
            and len(devices) == len(slots) == len(algorithms) == len(kcvs)
            and (self._last is None or devices[0] > self._last)
            and names.count("\n") == len(devices) - 1
            and min(map(len, devices)) > 0
            and max(map(len, devices)) <= 128
            and not CONTROL_BUT_NEWLINE.search(names)
            and KCV_LINES.fullmatch(checks) is not None
            and set(zip(slots, algorithms, strict=True)) <= _SLOT_ALGORITHM_PAIRS
            and devices == sorted(devices)
        )
        if not plain:
            return None
        distinct = len(set(devices))
        if distinct < len(devices) and len(set(zip(devices, slots, strict=True))) < len(devices):
            return None  # a repeat: the entry path names it
        return distinct

    def _note(self, device: str, slot: str) -> None:
        if self._pairs is not None:
            if (device, slot) in self._pairs:
                raise _twice(device, slot)
            self._pairs.add((device, slot))
            self._device_set.add(device)
            self._devices = len(self._device_set)
        elif device == self._last:
            if slot in self._slots:
                raise _twice(device, slot)
            self._slots.add(slot)
        elif self._last is None or device > self._last:
            self._last, self._slots = device, {slot}
            self._devices += 1
        else:
            self._pairs = {(line[0], line[1]) for line in self._lines()}
            self._device_set = {device for device, _slot in self._pairs}
            self._note(device, slot)

    def _lines(self) -> Iterator[list[str]]:
        for block in [*self._blocks, "\n".join(self._pending)]:
            if block:
                for line in block.split("\n"):
                    yield line.split("\t")

    @property
    def device_count(self) -> int:
        """Distinct devices among the entries."""
        return self._devices

    def json_texts(self) -> Iterator[str]:
        """Every entry as the manifest writes it."""
        for device, slot, algorithm, kcv in self._lines():
            yield entry_json(device, slot, algorithm, kcv)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[KeyCheck]:
        for device, slot, algorithm, kcv in self._lines():
            yield KeyCheck(device, KeySlot(slot), Algorithm(algorithm), kcv)

    @overload
    def __getitem__(self, index: int) -> KeyCheck: ...
    @overload
    def __getitem__(self, index: slice) -> list[KeyCheck]: ...
    def __getitem__(self, index: int | slice) -> KeyCheck | list[KeyCheck]:
        if isinstance(index, slice):
            return list(self)[index]
        position = index + self._count if index < 0 else index
        if not 0 <= position < self._count:
            raise IndexError("key check index out of range")
        block, offset = divmod(position, self.BLOCK)
        text = self._blocks[block] if block < len(self._blocks) else "\n".join(self._pending)
        device, slot, algorithm, kcv = text.split("\n")[offset].split("\t")
        return KeyCheck(device, KeySlot(slot), Algorithm(algorithm), kcv)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"KeyCheckList({self._count} entries, {self._devices} devices)"
