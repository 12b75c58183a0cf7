"""``meterkms manage outbox``: look at the outbox and send what is due."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Count

from meterkms.core import context, tenancy
from meterkms.emails.delivery import send_due
from meterkms.emails.enums import OutboxState
from meterkms.emails.models import OutboxMessage


class Command(BaseCommand):
    help = (
        "Outbox tools. `status` counts messages per state; `send-due` sends every message "
        "whose time has come (queued, due retries, claims of a worker that died) and removes "
        "the bodies of long-failed messages. Run `send-due` from cron where no task worker "
        "runs, or to catch up after an outage."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["status", "send-due"])
        parser.add_argument(
            "--limit", type=int, default=500, help="most messages sent in one run (send-due)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "status":
            self._status()
            return
        with context.channel("cli"):
            sweep = send_due(limit=options["limit"])
        self.stdout.write(
            f"attempted {sweep.attempted}, sent {sweep.sent}, stale claims taken back "
            f"{sweep.reclaimed}, bodies of failed messages removed {sweep.redacted}"
        )

    def _status(self) -> None:
        with tenancy.crossing("the operator's overview counts every organisation's mail"):
            counts = dict(
                OutboxMessage.objects.values_list("state").annotate(n=Count("pk")).order_by()
            )
        for state in OutboxState:
            self.stdout.write(f"{state.value:10} {counts.get(state.value, 0)}")
