"""``meterkms check``: Django's deployment checks plus meterkms' own start-up checks."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from meterkms.cli import preflight


class Command(BaseCommand):
    help = "Run Django's deployment checks (warnings fail) and meterkms' start-up checks."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("check", deploy=True, fail_level="WARNING")
        found = preflight.problems()
        if found:
            raise CommandError("\n".join(f"  - {problem}" for problem in found))
        self.stdout.write("meterkms checks: no problems found")
