"""``meterkms audit verify``: check the audit log's HMAC chain end to end."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from meterkms.audit.services import verify


class Command(BaseCommand):
    help = "Audit log tools."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="recompute the HMAC chain over every audit row")

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify()
        for problem in result.problems:
            where = f"row #{problem.seq}" if problem.seq is not None else "head"
            self.stderr.write(f"{where}: {problem.message}")
        if not result.ok:
            raise CommandError(
                f"audit log verification FAILED: {len(result.problems)} problems "
                f"in {result.checked} rows"
            )
        self.stdout.write(f"audit log verified: {result.checked} rows, chain intact")
