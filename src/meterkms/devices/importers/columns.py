"""Column names of tabular imports (CSV, XLSX, JSON objects) and how headers map to fields.

A header matches a field when it equals one of the field's aliases after lower-casing and
dropping spaces and ``_ - . / ( ) #`` (so ``Serial No.``, ``serial_no`` and ``SerialNo`` are
the same). A caller's explicit mapping wins over the aliases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import fields
from meterkms.devices.importers.limits import FatalFileError
from meterkms.devices.importers.records import RecordError, Severity


class Kind(Enum):
    """What a column contributes to a record."""

    SERIAL = "serial"
    ATTRIBUTE = "attribute"
    KEY = "key"
    CHECK_VALUE = "check value"
    SLOT = "slot"
    ALGORITHM = "algorithm"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One known column: canonical name, kind, syntax check and (for keys) its slot.

    A KEY or CHECK_VALUE column with ``slot=None`` is the generic ``key``/``kcv`` column: its
    slot comes from the row's ``slot`` column, else the parser's default (OMS).
    ``byte_field`` columns also accept a JSON integer 0–255.
    """

    name: str
    kind: Kind
    convert: Callable[[str], object]
    slot: KeySlot | None = None
    byte_field: bool = False


def squash(header: str) -> str:
    """The comparable form of a header: lower case without spaces and ``_-./()#``."""
    return re.sub(r"[\s_\-./()#]", "", header.strip().lower())


def _identity(text: str) -> str:
    return text


_KEY_COLUMNS: dict[str, KeySlot | None] = {
    "key": None,
    "oms_key": KeySlot.OMS,
    "mbus_key": KeySlot.MBUS,
    "des_key": KeySlot.DES,
    "app_key": KeySlot.LORAWAN_APPKEY,
    "nwk_key": KeySlot.LORAWAN_NWKKEY,
    "app_s_key": KeySlot.LORAWAN_APPSKEY,
    "nwk_s_key": KeySlot.LORAWAN_NWKSKEY,
    "f_nwk_s_int_key": KeySlot.LORAWAN_FNWKSINTKEY,
    "s_nwk_s_int_key": KeySlot.LORAWAN_SNWKSINTKEY,
    "nwk_s_enc_key": KeySlot.LORAWAN_NWKSENCKEY,
}

#: Canonical name of the key column for each slot (what exports write).
SLOT_COLUMNS: dict[KeySlot, str] = {
    slot: name for name, slot in _KEY_COLUMNS.items() if slot is not None
}

# Aliases as they compare (squashed), space-separated to keep the table readable.
_KEY_ALIASES: dict[str, str] = {
    "key": "key aeskey keyhex encryptionkey schlüssel schluessel aesschlüssel aesschluessel "
    "clave nyckel",
    "oms_key": "omskey wmbuskey dek",
    "app_key": "appkey applicationkey",
    "nwk_key": "nwkkey networkkey",
    "app_s_key": "appskey applicationsessionkey",
    "nwk_s_key": "nwkskey networksessionkey",
}

_DEVICE_COLUMNS: dict[str, tuple[Kind, Callable[[str], object], str]] = {
    "serial": (
        Kind.SERIAL,
        fields.serial,
        "serial serialnumber serialno serialnr sn seriennummer seriennr numerodeserie "
        "serienummer meterserial deviceserial",
    ),
    "device_type": (
        Kind.ATTRIBUTE,
        fields.text_value,
        "devicetype type typ model devicemodel metertype gerätetyp geraetetyp tipo enhetstyp",
    ),
    "manufacturer": (
        Kind.ATTRIBUTE,
        fields.manufacturer,
        "manufacturer man manufacturercode mfct mfr hersteller herstellercode fabricante "
        "tillverkare",
    ),
    "meter_address": (
        Kind.ATTRIBUTE,
        fields.meter_address,
        "meteraddress address meterid wmbusid wmbusaddress adresse zähleradresse direccion",
    ),
    "version": (Kind.ATTRIBUTE, fields.byte_value, "version meterversion ver deviceversion"),
    "medium": (
        Kind.ATTRIBUTE,
        fields.byte_value,
        "medium devicetypebyte mediumbyte med mediumcode",
    ),
    "radio_address": (
        Kind.ATTRIBUTE,
        fields.meter_address,
        "radioaddress radiomoduleaddress moduleaddress moduleid radioid radiomoduleid "
        "funkmoduladresse",
    ),
    "dev_eui": (Kind.ATTRIBUTE, fields.eui, "deveui deviceeui"),
    "join_eui": (Kind.ATTRIBUTE, fields.eui, "joineui appeui applicationeui"),
    "dev_addr": (Kind.ATTRIBUTE, fields.dev_addr, "devaddr"),
    "lorawan_version": (
        Kind.ATTRIBUTE,
        fields.lorawan_version,
        "lorawanversion macversion lorawanmacversion",
    ),
    "labels": (Kind.ATTRIBUTE, fields.labels, "labels label tags"),
    "slot": (Kind.SLOT, fields.slot, "slot keyslot keyrole"),
    "algorithm": (Kind.ALGORITHM, fields.algorithm, "algorithm keyalgorithm algo cipher"),
    "kcv": (Kind.CHECK_VALUE, fields.check_value, "kcv keycheckvalue checkvalue"),
    "key_version": (Kind.IGNORED, _identity, "keyversion"),
}


def _specs() -> dict[str, tuple[ColumnSpec, tuple[str, ...]]]:
    table: dict[str, tuple[ColumnSpec, tuple[str, ...]]] = {}
    for name, (kind, convert, aliases) in _DEVICE_COLUMNS.items():
        spec = ColumnSpec(name, kind, convert, byte_field=name in ("version", "medium"))
        table[name] = (spec, tuple(aliases.split()))
    for name, slot in _KEY_COLUMNS.items():
        aliases = tuple(_KEY_ALIASES.get(name, squash(name)).split())
        table[name] = (ColumnSpec(name, Kind.KEY, fields.key_hex, slot=slot), aliases)
        if name == "key":
            continue
        for suffix, kind, convert in (
            ("kcv", Kind.CHECK_VALUE, fields.check_value),
            ("algorithm", Kind.ALGORITHM, fields.algorithm),
        ):
            extra = f"{name}_{suffix}"
            table[extra] = (ColumnSpec(extra, kind, convert, slot=slot), (squash(extra),))
    return table


#: Every known column by canonical name, with its aliases (already squashed).
COLUMNS: dict[str, tuple[ColumnSpec, tuple[str, ...]]] = _specs()
SPECS: dict[str, ColumnSpec] = {name: spec for name, (spec, _) in COLUMNS.items()}
ALIASES: dict[str, ColumnSpec] = {
    alias: spec for spec, aliases in COLUMNS.values() for alias in aliases
}

# Eight or more hex digits (separators and 0x allowed): could be a whole key, never shown.
_KEYISH = re.compile(r"(?:0[xX])?(?:[0-9A-Fa-f][\s:\-]*){8,}")
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,64}")


def safe_name(name: str) -> str | None:
    """``name`` if it may appear in a message, else None.

    A header or field name that could be a key (eight or more hex digits and separators: a
    file without a header row has a data row there) is never echoed.
    """
    if _PRINTABLE.fullmatch(name) and not _KEYISH.fullmatch(name):
        return name
    return None


def normalise_mapping(mapping: Mapping[str, str] | None) -> dict[str, str]:
    """A caller's column mapping with stripped, case-folded headers; unknown fields raise."""
    explicit = {k.strip().casefold(): v for k, v in (mapping or {}).items()}
    unknown = {v for v in explicit.values() if v not in SPECS and v not in ("", "ignore")}
    if unknown:
        raise ValueError(f"column mapping names unknown fields: {sorted(unknown)}")
    return explicit


#: A planned column: (position in the row, spec, name shown in messages).
Planned = tuple[int, ColumnSpec, str]


@dataclass(slots=True)
class ColumnPlan:
    """How the columns of one header row map to fields."""

    columns: list[Planned]
    warnings: list[RecordError]

    def has(self, name: str) -> bool:
        """True if a column maps to the canonical field ``name``."""
        return any(spec.name == name for _, spec, _ in self.columns)

    def display(self, name: str) -> str:
        """How messages name the field ``name`` (its header when there is one)."""
        for _, spec, shown in self.columns:
            if spec.name == name:
                return shown
        return name


def resolve_header(
    header: str, mapping: Mapping[str, str], aliases: Mapping[str, ColumnSpec]
) -> tuple[ColumnSpec | None, bool]:
    """The spec for one header and whether the mapping named it; spec None means ignore.

    ``mapping`` keys must already be stripped and case-folded.
    """
    key = header.strip().casefold()
    if key in mapping:
        target = mapping[key]
        return None if target in ("", "ignore") else SPECS[target], True
    return aliases.get(squash(header)), False


def plan_columns(
    headers: Sequence[object],
    *,
    line: int,
    mapping: Mapping[str, str] | None = None,
    aliases: Mapping[str, ColumnSpec] = ALIASES,
    required: Sequence[str] = ("serial",),
) -> ColumnPlan:
    """Map a header row to fields; unknown columns become warnings.

    ``mapping`` maps a header (case-insensitive) to a canonical field name, or to ``""`` /
    ``"ignore"``. Two columns for one field, or a missing required field, raise
    :class:`FatalFileError`.
    """
    explicit = normalise_mapping(mapping)
    columns: list[Planned] = []
    warnings: list[RecordError] = []
    used: dict[str, int] = {}
    for index, raw in enumerate(headers):
        header = raw.strip() if isinstance(raw, str) else ""
        position = f"column {index + 1}"
        if not header:
            continue
        spec, mapped = resolve_header(header, explicit, aliases)
        shown = safe_name(header)
        if spec is None:
            if not mapped:
                label = f"{position} ({shown})" if shown else position
                warnings.append(
                    RecordError(line, label, "unknown column, ignored", Severity.WARNING)
                )
            continue
        if spec.kind is Kind.IGNORED:
            continue
        if spec.name in used:
            raise FatalFileError(
                line,
                f"columns {used[spec.name] + 1} and {index + 1} both hold {spec.name}",
            )
        used[spec.name] = index
        columns.append((index, spec, shown or spec.name))
    for name in required:
        if name not in used:
            raise FatalFileError(line, _missing_message(name, aliases))
    return ColumnPlan(columns, warnings)


def _missing_message(name: str, aliases: Mapping[str, ColumnSpec]) -> str:
    names = sorted(alias for alias, spec in aliases.items() if spec.name == name)[:6]
    return (
        f"the header row has no {name} column (recognised names include "
        f"{', '.join(names)}); rename the column or map it"
    )
