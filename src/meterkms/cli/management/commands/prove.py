"""``meterkms prove FILE --as EMAIL``: prove stored keys against a capture, line by line.

Prints one line per telegram (and per unusable line) as the capture is proven, chunk by
chunk, then the summary; ``--csv OUT`` also writes the CSV report. Keys never appear: only
addresses, checks and verdicts. The run is audited like one from the web or the API.
"""

from __future__ import annotations

import gc
import sys
import time
from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from meterkms.accounts.models import User
from meterkms.core import context, tenancy
from meterkms.core.errors import DomainError
from meterkms.devices.enums import Technology
from meterkms.keys.proofs import Verdict
from meterkms.keys.proofs.rows import VERDICT_LABELS, CsvReport, ProofRow, checks_text
from meterkms.keys.proofs.service import ProofRun, prove_traffic


class Command(BaseCommand):
    help = "Prove stored keys against captured telegrams (one per line) without showing them."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the capture, one telegram per line ('-': stdin)")
        parser.add_argument(
            "--as",
            dest="email",
            required=True,
            help="email of the user the proof is made for (needs keys:prove)",
        )
        parser.add_argument("--csv", type=Path, help="also write the CSV report to this file")
        parser.add_argument(
            "--technology",
            choices=[Technology.WMBUS.value, Technology.LORAWAN.value],
            help="read every line as this technology (default: detect per line)",
        )
        parser.add_argument(
            "--summary-only", action="store_true", help="print the summary, not every line"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with context.channel("cli"), tenancy.crossing("the operator names the acting user"):
            user = (
                User.objects.select_related("organisation")
                .filter(email__iexact=options["email"])
                .first()
            )
        if user is None or not user.is_active:
            raise CommandError(f"no active user {options['email']}")
        report = None
        try:
            with ExitStack() as stack:
                capture = stack.enter_context(_open_capture(options["file"]))
                if options["csv"] is not None:
                    out = stack.enter_context(
                        options["csv"].open("w", encoding="utf-8", newline="")
                    )
                    report = CsvReport(out)
                with context.channel("cli"), tenancy.acting_as(user):
                    run, seconds = self._prove(user, capture, report, options)
        except CommandError:
            if report is not None:
                options["csv"].unlink(missing_ok=True)  # no half report of a refused proof
            raise
        self._summary(run, seconds)
        if options["csv"] is not None:
            self.stderr.write(f"CSV report written to {options['csv']}")

    def _prove(
        self, user: User, capture: TextIO, report: CsvReport | None, options: dict[str, Any]
    ) -> tuple[ProofRun, float]:
        quiet = options["summary_only"]

        def on_rows(rows: list[ProofRow]) -> None:
            if report is not None:
                report.write(rows)
            if not quiet:
                self.stdout.write("\n".join(_line(row) for row in rows))

        technology = options["technology"]
        started = time.perf_counter()
        # A big capture makes many short-lived objects: freeze what is alive now (Django,
        # the catalogue code) so that the collector walks only the current chunk's objects.
        gc.collect()
        gc.freeze()
        try:
            run = prove_traffic(
                actor=user,
                data=_lines(capture),
                technology=Technology(technology) if technology else None,
                keep=0,
                on_rows=on_rows if report is not None or not quiet else None,
                source=options["file"],
                channel="cli",
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        finally:
            gc.unfreeze()
        return run, time.perf_counter() - started

    def _summary(self, run: ProofRun, seconds: float) -> None:
        summary = run.summary
        rate = summary.telegrams / seconds if seconds else 0.0
        lines = [
            "",
            f"{summary.telegrams:,} telegrams, {summary.bad_lines:,} unusable lines "
            f"({seconds:.1f} s, {rate:,.0f} telegrams/s)",
        ]
        for verdict in Verdict:
            count = summary.telegram_verdicts.get(verdict, 0)
            lines.append(f"  {VERDICT_LABELS[verdict]}: {count:,}")
        lines.append(
            f"devices: {summary.proven_devices:,} proven, {summary.wrong_key_devices:,} "
            f"with keys that fail, {summary.unknown_devices:,} addresses without a device"
        )
        if run.unreadable_keys:
            lines.append(f"stored keys that could not be opened: {run.unreadable_keys:,}")
        self.stdout.write("\n".join(lines))


def _line(row: ProofRow) -> str:
    """One result as a line of text: where, what, which checks, the verdict and why."""
    parts = [f"line {row.line}:"]
    if row.address:
        parts.append(row.address)
    if row.scheme is not None:
        parts.append(row.scheme.value)
    if row.checks:
        parts.append(checks_text(row.checks))
    parts.append(f"-> {row.verdict_text}")
    if row.devices:
        devices = ", ".join(device.serial for device in row.devices)
        parts.append(f"({devices}{' ' + row.key_slot if row.key_slot else ''})")
    if row.reason_text:
        parts.append(f"- {row.reason_text}")
    return " ".join(parts)


@contextmanager
def _open_capture(name: str) -> Iterator[TextIO]:
    """The capture file (or stdin for '-') as text, decoded as UTF-8 line by line."""
    if name == "-":
        yield sys.stdin
        return
    path = Path(name)
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    with path.open(encoding="utf-8", errors="replace") as file:
        yield file


def _lines(capture: TextIO) -> Iterator[str]:
    """The capture's lines, a byte-order mark on the first one dropped."""
    first = True
    for line in capture:
        if first:
            line, first = line.removeprefix("\ufeff"), False
        yield line
