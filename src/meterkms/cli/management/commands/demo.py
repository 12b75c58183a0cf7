"""``meterkms demo``: load the manual's demo data and print how to log in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from meterkms.cli.demo import load_demo, load_demo_devices


class Command(BaseCommand):
    help = "Load the demo organisation IntegraDemo and its user, and print the login."

    def handle(self, *args: Any, **options: Any) -> None:
        login = load_demo()
        created = load_demo_devices()
        self.stdout.write(
            "\nDemo data ready.\n"
            f"  URL:          {settings.METERKMS_PUBLIC_URL}/\n"
            f"  Email:        {login.email}\n"
            f"  Password:     {login.password}\n"
            f"  Organisation: {login.organisation} ({created} demo devices added)\n"
            "The certificate is self-signed: accept it in the browser once.\n"
        )
