"""``meterkms worker``: run background tasks (imports, exports, emails) from the database."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from meterkms.core import context


class Command(BaseCommand):
    help = "Run the background task worker (django-tasks-db)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="poll interval (s)")
        parser.add_argument("--batch", action="store_true", help="exit when the queue is empty")

    def handle(self, *args: Any, **options: Any) -> None:
        worker_args = ["--interval", str(options["interval"]), "--queue-name", "*"]
        if options["batch"]:
            worker_args.append("--batch")
        with context.channel("task"):
            call_command("db_worker", *worker_args)
