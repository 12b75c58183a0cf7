"""Proof results as rows to show: one per telegram or unusable line, with devices, in words.

The engine's reports name addresses and a caller-chosen key reference; the proof service
turns them into :class:`ProofRow` values that name the devices (id and serial, for links)
and carry translated labels for the web page, the API, the CLI and the CSV report. Like the
reports, rows hold check outcomes only: no key, no decrypted byte.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, NamedTuple

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from meterkms.devices.enums import KeySlot

from .batch import NO_CANDIDATE, BatchReport
from .model import (
    AddressSource,
    Candidate,
    Check,
    DeviceAddress,
    LineError,
    MeterAddress,
    Scheme,
    TelegramReport,
    Verdict,
)

#: The verdict code of a line that is not a usable telegram (rows only; not an engine verdict).
BAD_LINE = "bad-line"

VERDICT_LABELS: dict[str, Promise] = {
    Verdict.PROVEN: _("key proven"),
    Verdict.WRONG_KEY: _("wrong key?"),
    Verdict.NO_DEVICE: _("no device with this address"),
    Verdict.CANNOT_TELL: _("cannot tell"),
    BAD_LINE: _("unusable line"),
}

SCHEME_LABELS: dict[Scheme, Promise] = {
    Scheme.MODE5: _("TPL security mode 5 (AES-128-CBC)"),
    Scheme.MODE7: _("TPL security mode 7 (AES-128-CBC, CMAC key derivation, AFL MAC)"),
    Scheme.ELL_CTR: _("ELL AES-128-CTR"),
    Scheme.DES_MODE2: _("TPL security mode 2 (DES-CBC)"),
    Scheme.JOIN_REQUEST: _("LoRaWAN join request (MIC)"),
    Scheme.JOIN_ACCEPT: _("LoRaWAN join accept (MIC)"),
    Scheme.NONE: _("no check possible"),
}

IV_LABELS: dict[AddressSource, Promise] = {
    AddressSource.TPL: _("meter (long transport header)"),
    AddressSource.LINK: _("radio link (link layer)"),
}

#: The engine's fixed reasons, as English msgids; reasons with values stay as they are.
#: tests/keys/proofs/test_rows.py makes the engine produce each of them.
REASONS: dict[str, Promise] = {
    NO_CANDIDATE: _("no key is stored for this address"),
    "no stored key passes the checks": _("no stored key passes the checks"),
    "CI 78: no transport header, so the data is not encrypted": _(
        "CI 78: no transport header, so the data is not encrypted"
    ),
    "CI 79: compact frame without transport header, so nothing is encrypted": _(
        "CI 79: compact frame without transport header, so nothing is encrypted"
    ),
    "security mode 0: the data is not encrypted": _("security mode 0: the data is not encrypted"),
    "a join accept names no device: put the join request it answers on a line before it": _(
        "a join accept names no device: put the join request it answers on a line before it"
    ),
}

CSV_COLUMNS = (
    "line",
    "technology",
    "scheme",
    "address",
    "link_address",
    "tpl_address",
    "iv_address",
    "join_eui",
    "devices",
    "key_slot",
    "checks",
    "verdict",
    "verdict_text",
    "reason",
    "candidates_tried",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Texts:
    """The labels in the active language, translated once for a whole report.

    A report of 100,000 rows would otherwise ask the translation catalogue several times
    per row; build one of these per request or report instead.
    """

    def __init__(self) -> None:
        self.verdicts = {verdict: str(label) for verdict, label in VERDICT_LABELS.items()}
        self.schemes = {scheme: str(label) for scheme, label in SCHEME_LABELS.items()}
        self.ivs = {source: str(label) for source, label in IV_LABELS.items()}
        self.reasons = {reason: str(label) for reason, label in REASONS.items()}

    def scheme(self, row: ProofRow) -> str:
        """The row's scheme in words ("" for an unusable line)."""
        return "" if row.scheme is None else self.schemes[row.scheme]

    def reason(self, row: ProofRow) -> str:
        """The row's reason, translated where it is a fixed sentence."""
        return self.reasons.get(row.reason, row.reason)


class DeviceRef(NamedTuple):
    """A device a row names: its id (for links) and serial number."""

    id: int
    serial: str


class KeyRef(NamedTuple):
    """What a candidate's reference stands for: device, key slot and version (no key)."""

    device: DeviceRef
    slot: KeySlot
    version: int

    def __str__(self) -> str:
        return f"{self.slot} v{self.version}"


@dataclass(slots=True)
class ProofRow:
    """The result for one line of the input, ready to show or write: no key, no plaintext.

    ``verdict`` is a :class:`Verdict` value or :data:`BAD_LINE`; ``devices`` names the
    device whose key was proven, else the devices whose keys were tried.
    """

    line: int
    verdict: str
    reason: str
    technology: str = ""
    scheme: Scheme | None = None
    address: str = ""
    link_address: str = ""
    tpl_address: str = ""
    iv_source: AddressSource | None = None
    join_eui: str = ""
    checks: tuple[Check, ...] = ()
    devices: tuple[DeviceRef, ...] = ()
    key_slot: str = ""
    candidates_tried: int = 0

    @property
    def proven(self) -> bool:
        """True when a stored key passed every check."""
        return self.verdict == Verdict.PROVEN

    @property
    def verdict_text(self) -> str:
        """The verdict in plain words, in the active language."""
        return str(VERDICT_LABELS[self.verdict])

    @property
    def reason_text(self) -> str:
        """The reason in the active language where it is a fixed sentence."""
        label = REASONS.get(self.reason)
        return self.reason if label is None else str(label)

    @property
    def scheme_text(self) -> str:
        """The protection scheme in words."""
        return "" if self.scheme is None else str(SCHEME_LABELS[self.scheme])

    @property
    def iv_address(self) -> str:
        """The address that fed the IV or the key derivation (M, A, version, type)."""
        if self.iv_source is AddressSource.TPL:
            return self.tpl_address
        return self.link_address if self.iv_source is AddressSource.LINK else ""

    @property
    def iv_text(self) -> str:
        """Which address fed the IV or key derivation, in words."""
        return "" if self.iv_source is None else str(IV_LABELS[self.iv_source])


def rows_of(
    batch: BatchReport,
    key_ref: Callable[[str], KeyRef],
    candidates: Mapping[DeviceAddress, Sequence[Candidate]],
) -> list[ProofRow]:
    """The rows of one proven chunk in line order: its telegrams and its unusable lines.

    ``key_ref`` resolves the candidates' references of this chunk to devices;
    ``candidates`` are the chunk's candidates (only their references are read).
    """
    rows = [_row(report, key_ref, candidates) for report in batch.reports]
    if batch.errors:
        rows += [_error_row(error) for error in batch.errors]
        rows.sort(key=lambda row: row.line)
    return rows


def _row(
    report: TelegramReport,
    key_ref: Callable[[str], KeyRef],
    candidates: Mapping[DeviceAddress, Sequence[Candidate]],
) -> ProofRow:
    devices: tuple[DeviceRef, ...] = ()
    key_slot = ""
    if report.key_ref is not None:
        ref = key_ref(report.key_ref)
        devices, key_slot = (ref.device,), str(ref)
    elif report.found_under is not None:
        tried = candidates.get(report.found_under, ())
        devices = tuple(dict.fromkeys(key_ref(c.ref).device for c in tried))
    return ProofRow(
        line=report.line,
        verdict=report.verdict.value,
        reason=report.reason,
        technology=str(report.technology),
        scheme=report.scheme,
        address=_text(report.address),
        link_address=_text(report.link_address),
        tpl_address=_text(report.tpl_address),
        iv_source=report.iv_source,
        join_eui=report.join_eui or "",
        checks=report.checks,
        devices=devices,
        key_slot=key_slot,
        candidates_tried=report.candidates_tried,
    )


def _error_row(error: LineError) -> ProofRow:
    return ProofRow(line=error.line, verdict=BAD_LINE, reason=error.reason)


def _text(value: DeviceAddress | MeterAddress | None) -> str:
    return "" if value is None else str(value)


def checks_text(checks: Iterable[Check]) -> str:
    """Check outcomes as ``2F2F=ok MAC=fail``."""
    return " ".join(str(check) for check in checks)


class CsvReport:
    """Writes rows as the CSV report, chunk by chunk; the header comes first.

    Cells a spreadsheet would run as a formula get a leading apostrophe.
    """

    def __init__(self, out: IO[str]) -> None:
        self.writer = csv.writer(out, lineterminator="\r\n")
        self.writer.writerow(CSV_COLUMNS)
        self.texts = Texts()

    def write(self, rows: Iterable[ProofRow]) -> None:
        """Append ``rows`` to the report."""
        texts = self.texts
        self.writer.writerows([_safe(cell) for cell in _cells(row, texts)] for row in rows)


def _cells(row: ProofRow, texts: Texts) -> list[str]:
    return [
        str(row.line),
        row.technology,
        "" if row.scheme is None else row.scheme.value,
        row.address,
        row.link_address,
        row.tpl_address,
        "" if row.iv_source is None else row.iv_source.value,
        row.join_eui,
        " ".join(device.serial for device in row.devices),
        row.key_slot,
        checks_text(row.checks),
        row.verdict,
        texts.verdicts[row.verdict],
        texts.reason(row),
        str(row.candidates_tried),
    ]


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
