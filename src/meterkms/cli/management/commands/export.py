"""``meterkms export``: key file tools.

* ``export open FILE [--password-stdin] [--private-key PEM] [--out PATH]`` opens and
  verifies a downloaded key file (see :mod:`meterkms.cli.exportfile`; ``meterkms export
  open`` runs it without any server configuration);
* ``export purge`` deletes expired download files (for cron, next to the worker's own
  scheduled purges).
"""

from __future__ import annotations

import sys
from argparse import REMAINDER, ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from meterkms.cli import exportfile
from meterkms.core import context


class Command(BaseCommand):
    help = "Key file tools: `open FILE` verifies a downloaded file, `purge` deletes expired ones."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        opener = sub.add_parser("open", help="open and verify a key file, write its payload")
        opener.add_argument("arguments", nargs=REMAINDER, help="FILE [--password-stdin] …")
        sub.add_parser("purge", help="delete expired download files")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "open":
            status = exportfile.main(options["arguments"])
            if status:
                raise CommandError("the file was not verified", returncode=status)
            return
        from meterkms.keys.downloads import purge

        with context.channel("cli"):
            purged = purge()
        self.stdout.write(
            f"download files deleted: {purged.expired} expired, {purged.orphans} orphaned; "
            f"{purged.stuck} unfinished downloads marked failed"
        )
        sys.stdout.flush()
