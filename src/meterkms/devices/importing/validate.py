"""Turn parsed records into devices ready to write, or into problems "line N, column: …".

Checks per record: serial present; device type known and visible; every key belongs to a slot
of the type, has an algorithm the slot allows, the exact length, good DES parity and no weak
value (the vault's key hygiene); a claimed key check value matches; no key appears twice in
the file. Missing keys are generated when asked. Messages never contain key material.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from meterkms.devices.enums import DEFAULT_ALGORITHM, SLOT_ALGORITHMS, KeySlot
from meterkms.devices.importers.records import DeviceRecord, RecordError, keep
from meterkms.devices.models import DeviceType
from meterkms.vault.algorithms import KEY_LENGTHS, Algorithm
from meterkms.vault.errors import KeyMaterialError
from meterkms.vault.kcv import key_check_value_hex
from meterkms.vault.keymaterial import KeyFingerprinter, ensure_acceptable, generate_key, parse_key

FINGERPRINT_CHARS = 32


@dataclass(slots=True, repr=False)
class ValidKey:
    """A checked key: its bytes (only in memory, until sealed), check values, fingerprint."""

    slot: KeySlot
    algorithm: Algorithm
    value: bytes
    kcv: str
    kcv_cmac: str
    fingerprint: str
    generated: bool = False

    def __repr__(self) -> str:
        return f"ValidKey({self.slot}, {self.algorithm}, kcv={self.kcv})"


@dataclass(slots=True)
class ValidDevice:
    """A record that passed every check, with its keys."""

    line: int
    serial: str
    device_type: DeviceType
    fields: dict[str, Any]
    labels: tuple[str, ...]
    keys: list[ValidKey] = field(default_factory=list)


def problem(line: int, column: str | None, message: str) -> RecordError:
    """A blocking problem at ``line``/``column``."""
    return RecordError(line, column, message)


class RecordValidator:
    """Validates records one by one, remembering what it needs across the file."""

    def __init__(
        self,
        *,
        types: Iterable[DeviceType],
        default_type: DeviceType | None,
        generate_missing: bool,
        fingerprint_secret: bytes,
    ) -> None:
        self._types = {device_type.name.casefold(): device_type for device_type in types}
        self._by_spelling: dict[str, DeviceType | None] = {}
        self._slots = {device_type.pk: device_type.slots for device_type in types}
        self._default_type = default_type
        self._generate = generate_missing
        self._fingerprinter = KeyFingerprinter(fingerprint_secret)
        self._seen_keys: dict[str, int] = {}
        #: The first warnings (weak keys, …) and how many there were in all.
        self.warnings: list[RecordError] = []
        self.warning_count = 0

    def validate(self, record: DeviceRecord) -> ValidDevice | list[RecordError]:
        """The valid device, or every problem of the record."""
        problems: list[RecordError] = []
        if not record.serial:
            problems.append(problem(record.line, "serial", _("the serial number is missing")))
        device_type = self._type_of(record, problems)
        keys: list[ValidKey] = []
        if device_type is not None:
            keys = self._keys(record, device_type, problems)
        if problems:
            return problems
        assert device_type is not None
        assert record.serial is not None
        fields = {
            "dev_eui": record.dev_eui or "",
            "join_eui": record.join_eui or "",
            "dev_addr": record.dev_addr or "",
            "lorawan_version": record.lorawan_version or "",
            "wmbus_manufacturer": record.manufacturer or "",
            "meter_address": record.meter_address or "",
            "wmbus_version": record.version,
            "medium": record.medium,
            "module_address": record.radio_address or "",
        }
        return ValidDevice(record.line, record.serial, device_type, fields, record.labels, keys)

    def _type_of(self, record: DeviceRecord, problems: list[RecordError]) -> DeviceType | None:
        if record.device_type:
            spelling = record.device_type
            if spelling not in self._by_spelling:
                self._by_spelling[spelling] = self._types.get(spelling.strip().casefold())
            found = self._by_spelling[spelling]
            if found is None:
                problems.append(
                    problem(
                        record.line,
                        "device_type",
                        _("unknown device type “%(name)s”") % {"name": record.device_type[:100]},
                    )
                )
            return found
        if self._default_type is None:
            problems.append(
                problem(
                    record.line,
                    "device_type",
                    _("no device type: add a device type column or choose a default type"),
                )
            )
        return self._default_type

    def _keys(
        self, record: DeviceRecord, device_type: DeviceType, problems: list[RecordError]
    ) -> list[ValidKey]:
        slots = self._slots.get(device_type.pk) or device_type.slots
        keys: list[ValidKey] = []
        for slot, text in record.keys.items():
            column = slot.value
            if slot not in slots:
                problems.append(
                    problem(
                        record.line,
                        column,
                        _("the device type %(type)s has no %(slot)s key")
                        % {"type": device_type.name, "slot": slot.value},
                    )
                )
                continue
            algorithm = text.algorithm or DEFAULT_ALGORITHM[slot]
            if algorithm not in SLOT_ALGORITHMS[slot]:
                problems.append(
                    problem(
                        record.line,
                        column,
                        _("%(slot)s keys cannot be %(algorithm)s")
                        % {"slot": slot.value, "algorithm": algorithm.value},
                    )
                )
                continue
            key = self._checked(record.line, column, text.hex, algorithm, problems)
            if key is None:
                continue
            valid = self._describe(slot, algorithm, key)
            if text.check_value and text.check_value.upper() != valid.kcv:
                problems.append(
                    problem(
                        record.line,
                        column,
                        _("the key does not match the key check value given in the file"),
                    )
                )
                continue
            if not self._first_use(record.line, column, valid, problems):
                continue
            keys.append(valid)
        for slot in slots:
            if slot in record.keys:
                continue
            if not self._generate:
                problems.append(
                    problem(
                        record.line,
                        slot.value,
                        _("no %(slot)s key: give one, or let meterkms generate missing keys")
                        % {"slot": slot.value},
                    )
                )
                continue
            algorithm = DEFAULT_ALGORITHM[slot]
            keys.append(self._describe(slot, algorithm, generate_key(algorithm), generated=True))
        return keys

    def _checked(
        self, line: int, column: str, text: str, algorithm: Algorithm, problems: list[RecordError]
    ) -> bytes | None:
        try:
            # The parsers hand over normalised hex; parse_key explains anything else.
            try:
                key = bytes.fromhex(text) if len(text) // 2 in KEY_LENGTHS[algorithm] else None
            except ValueError:
                key = None
            if key is None:
                key = parse_key(text, algorithm)
            for finding in ensure_acceptable(key, algorithm):
                self.warning_count += 1
                keep(self.warnings, RecordError(line, column, finding.message))
        except KeyMaterialError as exc:
            # Vault messages describe lengths and findings, never the key's digits.
            problems.append(problem(line, column, str(exc)))
            return None
        return key

    def _describe(
        self, slot: KeySlot, algorithm: Algorithm, key: bytes, generated: bool = False
    ) -> ValidKey:
        # Only the standard check value is stored at import: the CMAC variant costs as much
        # again per key and is computed where keys are unsealed anyway (exports).
        return ValidKey(
            slot=slot,
            algorithm=algorithm,
            value=key,
            kcv=key_check_value_hex(key, algorithm),
            kcv_cmac="",
            fingerprint=self._fingerprinter.fingerprint(key)[:FINGERPRINT_CHARS],
            generated=generated,
        )

    def _first_use(
        self, line: int, column: str, key: ValidKey, problems: list[RecordError]
    ) -> bool:
        earlier = self._seen_keys.setdefault(key.fingerprint, line)
        if earlier != line:
            problems.append(
                problem(
                    line,
                    column,
                    _("the same key as on line %(line)d: every device needs its own key")
                    % {"line": earlier},
                )
            )
            return False
        return True
