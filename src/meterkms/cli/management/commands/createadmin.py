"""``meterkms createadmin``: an OTC_ADMIN user, in a new or existing root organisation."""

from __future__ import annotations

import getpass
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from meterkms.accounts.services import create_user
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Role
from meterkms.organisations.services import create_organisation


class Command(BaseCommand):
    help = "Create an administrator (role OTC_ADMIN) of a root organisation."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--organisation",
            required=True,
            help="name of the root organisation (created if missing)",
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input instead of a prompt",
        )
        parser.add_argument("--language", default="de", choices=["de", "en", "es", "sv"])

    def handle(self, *args: Any, **options: Any) -> None:
        password = self._password(options["password_stdin"])
        try:
            with transaction.atomic(), tenancy.crossing("the operator sets up a root tenant"):
                organisation = Organisation.objects.filter(
                    name=options["organisation"], parent=None
                ).first() or create_organisation(
                    name=options["organisation"],
                    parent=None,
                    may_create_organisations=True,
                    channel="cli",
                )
                user = create_user(
                    email=options["email"],
                    name=options["name"],
                    organisation=organisation,
                    role=Role.OTC_ADMIN,
                    password=password,
                    language=options["language"],
                    channel="cli",
                )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"created {user.email} (OTC_ADMIN) in {organisation.name}")

    def _password(self, from_stdin: bool) -> str:
        if from_stdin:
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("the passwords differ")
        return first
