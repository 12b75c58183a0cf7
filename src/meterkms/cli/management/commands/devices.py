"""``meterkms devices import FILE``: register devices and keys from a production file."""

from __future__ import annotations

import sys
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from meterkms.accounts.models import User
from meterkms.core import context, tenancy
from meterkms.core.errors import DomainError
from meterkms.devices.importers.dispatch import PARSERS
from meterkms.devices.importers.records import MAX_KEPT_PROBLEMS
from meterkms.devices.importing.service import (
    ImportOptions,
    Source,
    check_file,
    import_file,
    start_import,
)
from meterkms.devices.models import DeviceType
from meterkms.organisations.models import Organisation

#: Warnings printed; the import run keeps more (MAX_KEPT_PROBLEMS) and counts them all.
SHOWN_WARNINGS = 50


class Command(BaseCommand):
    help = "Device catalogue tools: `import FILE` registers devices with their keys."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import devices and keys from a file")
        imp.add_argument("file", type=Path)
        imp.add_argument(
            "--as",
            dest="email",
            required=True,
            help="email of the user the import is made for (needs devices:import)",
        )
        imp.add_argument(
            "--org", help="organisation (name or id) that owns the devices; default: the user's"
        )
        imp.add_argument(
            "--type", dest="device_type", help="device type for rows without a type column"
        )
        imp.add_argument("--format", choices=sorted(PARSERS), help="default: detected")
        imp.add_argument("--delimiter", help="CSV delimiter (default: detected)")
        imp.add_argument("--encoding", default="utf-8", choices=["utf-8", "cp1252"])
        imp.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the KEM file password from standard input",
        )
        imp.add_argument(
            "--generate-keys", action="store_true", help="generate keys the file does not give"
        )
        imp.add_argument(
            "--update",
            action="store_true",
            help="update devices that exist already (needs devices:update)",
        )
        imp.add_argument("--dry-run", action="store_true", help="check only, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        with context.channel("cli"), tenancy.crossing("the operator names the acting user"):
            user = (
                User.objects.select_related("organisation")
                .filter(email__iexact=options["email"])
                .first()
            )
        if user is None or not user.is_active:
            raise CommandError(f"no active user {options['email']}")
        with context.channel("cli"), tenancy.acting_as(user):
            self._run(user, path, options)

    def _run(self, user: User, path: Path, options: dict[str, Any]) -> None:
        import_options = ImportOptions(
            format=options["format"],
            delimiter=options["delimiter"],
            encoding=options["encoding"],
            password=sys.stdin.readline().rstrip("\n") if options["password_stdin"] else None,
            default_type_id=self._type_id(options["device_type"]),
            generate_missing=options["generate_keys"],
            update_existing=options["update"],
            owner_id=self._org_id(options["org"]),
        )
        started = time.monotonic()
        try:
            source = Source(path)
            run = start_import(actor=user, source=source, options=import_options)
            action = check_file if options["dry_run"] else import_file
            outcome = action(
                run=run, actor=user, source=source, options=import_options, progress=self._progress
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write("")
        for warning in outcome.warnings[:SHOWN_WARNINGS]:
            self.stderr.write(f"warning: {warning}")
        if outcome.warning_count > SHOWN_WARNINGS:
            more = outcome.warning_count - SHOWN_WARNINGS
            self.stderr.write(
                f"… and {more} more warnings (import #{run.pk} keeps the first {MAX_KEPT_PROBLEMS})"
            )
        for error in outcome.errors:
            self.stderr.write(f"error: {error}")
        seconds = time.monotonic() - started
        if outcome.error_count:
            raise CommandError(
                f"{outcome.error_count} problems in {outcome.rows} rows: nothing was imported"
            )
        verb = "checked" if options["dry_run"] else "imported"
        self.stdout.write(
            f"{verb} {outcome.valid} new devices ({outcome.updated} updated, "
            f"{outcome.unchanged} unchanged) "
            f"from {outcome.rows} rows in {seconds:.1f} s (import #{run.pk})"
        )

    def _progress(self, _what: str, rows: int) -> None:
        self.stderr.write(f"\r  {rows:,} rows …", ending="")
        self.stderr.flush()

    @staticmethod
    def _type_id(name: str | None) -> int | None:
        if not name:
            return None
        found = DeviceType.objects.filter(name__iexact=name).first()
        if found is None:
            raise CommandError(f"unknown device type {name!r}")
        return found.pk

    @staticmethod
    def _org_id(name: str | None) -> Any:
        if not name:
            return None
        found = Organisation.objects.filter(name=name).first()
        if found is None:
            try:
                found = Organisation.objects.filter(pk=name).first()
            except Exception:
                found = None
        if found is None:
            raise CommandError(f"unknown organisation {name!r} (in your tree)")
        return found.pk
