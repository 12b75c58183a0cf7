"""Summing up a batch proof per device, and the per-telegram report as CSV.

A device (address) counts as proven when any of its telegrams proved a key, as "wrong key?"
when keys were checked and none passed, as unknown when no key is stored under its
addresses, and as "cannot tell" otherwise. These counts, never keys or plaintext, are what
the proof service writes to the audit log.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import DeviceAddress, LineError, MeterAddress, TelegramReport, Verdict

# A device's verdict is the strongest among its telegrams'.
_RANK = {Verdict.PROVEN: 3, Verdict.WRONG_KEY: 2, Verdict.NO_DEVICE: 1, Verdict.CANNOT_TELL: 0}

CSV_COLUMNS = (
    "line",
    "technology",
    "scheme",
    "address",
    "link_address",
    "tpl_address",
    "iv_address",
    "join_eui",
    "checks",
    "verdict",
    "reason",
    "key_ref",
    "candidates_tried",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts of a batch proof: telegrams per verdict and devices per verdict."""

    telegrams: int
    bad_lines: int
    telegram_verdicts: dict[Verdict, int]
    device_verdicts: dict[DeviceAddress, Verdict]

    def devices(self, verdict: Verdict) -> int:
        """How many devices ended with ``verdict``."""
        return sum(1 for value in self.device_verdicts.values() if value is verdict)

    @property
    def proven_devices(self) -> int:
        """Devices whose stored key was proven by at least one telegram."""
        return self.devices(Verdict.PROVEN)

    @property
    def wrong_key_devices(self) -> int:
        """Devices with stored keys of which none passes the checks."""
        return self.devices(Verdict.WRONG_KEY)

    @property
    def unknown_devices(self) -> int:
        """Addresses with no key stored under them."""
        return self.devices(Verdict.NO_DEVICE)


def summarise(reports: Sequence[TelegramReport], bad_lines: int = 0) -> Summary:
    """Count telegram verdicts and give every device the strongest verdict it reached."""
    per_device: dict[DeviceAddress, Verdict] = {}
    for report in reports:
        address = report.address
        if address is None:
            continue
        current = per_device.get(address)
        if current is None or _RANK[report.verdict] > _RANK[current]:
            per_device[address] = report.verdict
    counts = Counter(report.verdict for report in reports)
    return Summary(
        telegrams=len(reports),
        bad_lines=bad_lines,
        telegram_verdicts={verdict: counts.get(verdict, 0) for verdict in Verdict},
        device_verdicts=per_device,
    )


def merge_summaries(parts: Iterable[Summary]) -> Summary:
    """One summary of several (the chunks of one capture); a device keeps its best verdict."""
    telegrams = bad_lines = 0
    verdicts: Counter[Verdict] = Counter()
    per_device: dict[DeviceAddress, Verdict] = {}
    for part in parts:
        telegrams += part.telegrams
        bad_lines += part.bad_lines
        verdicts.update(part.telegram_verdicts)
        for address, verdict in part.device_verdicts.items():
            current = per_device.get(address)
            if current is None or _RANK[verdict] > _RANK[current]:
                per_device[address] = verdict
    return Summary(
        telegrams=telegrams,
        bad_lines=bad_lines,
        telegram_verdicts={verdict: verdicts.get(verdict, 0) for verdict in Verdict},
        device_verdicts=per_device,
    )


def render_csv(reports: Iterable[TelegramReport], errors: Iterable[LineError] = ()) -> str:
    """The per-telegram report as CSV (unusable lines included, "bad line"), line order.

    Cells that a spreadsheet would run as a formula are prefixed with an apostrophe.
    """
    rows = [_row(report) for report in reports]
    rows += [_error_row(error) for error in errors]
    rows.sort(key=lambda row: int(row[0]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([_safe(cell) for cell in row] for row in rows)
    return out.getvalue()


def _row(report: TelegramReport) -> list[str]:
    return [
        str(report.line),
        str(report.technology),
        str(report.scheme),
        _text(report.address),
        _text(report.link_address),
        _text(report.tpl_address),
        str(report.iv_source or ""),
        report.join_eui or "",
        " ".join(str(check) for check in report.checks),
        report.verdict.label,
        report.reason,
        report.key_ref or "",
        str(report.candidates_tried),
    ]


def _error_row(error: LineError) -> list[str]:
    cells = [""] * len(CSV_COLUMNS)
    cells[0] = str(error.line)
    cells[CSV_COLUMNS.index("verdict")] = "bad line"
    cells[CSV_COLUMNS.index("reason")] = error.reason
    return cells


def _text(value: DeviceAddress | MeterAddress | None) -> str:
    return "" if value is None else str(value)


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
