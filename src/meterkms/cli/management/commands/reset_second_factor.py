"""``meterkms reset-second-factor --email …``: remove a user's second factor on the server.

For the case no administrator can help: the user (often the last administrator) lost both
the authenticator app and the recovery codes. Run by whoever operates the server; audited
as ``user.mfa_reset`` with the channel ``cli``. The user sets up a new app afterwards.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from meterkms.accounts import mfa
from meterkms.accounts.models import User
from meterkms.core import tenancy


class Command(BaseCommand):
    help = "Remove a user's second factor (lost authenticator app and recovery codes)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--email", required=True, help="the user's email address")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip()
        with tenancy.crossing("the operator helps a user of any organisation"):
            user = User.objects.select_related("organisation").filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"no user with the email address {email!r}")
        if mfa.reset_by_operator(user=user):
            self.stdout.write(f"The second factor of {user.email} has been removed.")
        else:
            self.stdout.write(f"{user.email} has no second factor; nothing changed.")
