"""``meterkms keys …``: master-key and data-key rotation, and the state of the key hierarchy."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from meterkms.core import context, tenancy
from meterkms.devices.keylife import blobs_under, reseal_scope, rotate_master_key
from meterkms.devices.models import Device
from meterkms.organisations.models import Organisation
from meterkms.vault.djangostore import DjangoDataKeyStore
from meterkms.vault.errors import VaultError
from meterkms.vault.providers.local import create_key_file
from meterkms.vault.runtime import get_vault


class Command(BaseCommand):
    help = "Key hierarchy: rotate the master key or the data keys, show their state."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        new = sub.add_parser("new-master-key", help="write a new local master key file (0600)")
        new.add_argument("path", type=Path)
        sub.add_parser(
            "rotate-master",
            help="re-wrap every data key under the configured "
            "master key (the old one configured as previous)",
        )
        data = sub.add_parser(
            "rotate-data-keys",
            help="re-seal stored keys under new data keys; resumes an interrupted run",
        )
        data.add_argument("--org", help="one manufacturer organisation (name or id)")
        data.add_argument("--batch", type=int, default=2000)
        sub.add_parser("status", help="master-key versions in use and data keys per version")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with context.channel("cli"):
                getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except VaultError as exc:
            raise CommandError(str(exc)) from None

    def _new_master_key(self, options: dict[str, Any]) -> None:
        version = create_key_file(options["path"])
        self.stdout.write(
            f"created {options['path']} (master key {version}); set "
            "METERKMS_MASTER_KEY_FILE to it, add the old file to "
            "METERKMS_MASTER_KEY_PREVIOUS_FILES, restart, then run "
            "`meterkms keys rotate-master`"
        )

    def _rotate_master(self, options: dict[str, Any]) -> None:
        report = rotate_master_key(
            progress=lambda r: self.stderr.write(
                f"\r  {r.rewrapped} data keys re-wrapped", ending=""
            )
        )
        self.stderr.write("")
        for dek, problem in report.failed.items():
            self.stderr.write(f"data key {dek}: {problem}")
        if not report.complete:
            raise CommandError("not every data key could be re-wrapped: rerun after fixing")
        self.stdout.write(
            f"{report.rewrapped} data keys re-wrapped under "
            f"{report.target_version}; the previous master keys can be removed"
        )

    def _rotate_data_keys(self, options: dict[str, Any]) -> None:
        with tenancy.crossing("the operator rotates data keys of manufacturers"):
            manufacturers = Organisation.objects.filter(
                pk__in=Device.objects.values("manufacturer_id")
            )
            chosen = [
                org
                for org in manufacturers
                if not options["org"] or options["org"] in {org.name, str(org.pk)}
            ]
        if options["org"] and not chosen:
            raise CommandError(f"no manufacturer organisation {options['org']!r}")
        for organisation in chosen:
            job = reseal_scope(
                organisation_id=organisation.pk,
                batch_size=options["batch"],
                progress=lambda j: self.stderr.write(f"\r  {j.resealed} keys re-sealed", ending=""),
            )
            left = blobs_under(job.retired_data_key, organisation.pk)
            self.stderr.write("")
            self.stdout.write(
                f"{organisation.name}: {job.resealed} keys re-sealed, {left} "
                "still under the retired data key"
            )

    def _status(self, options: dict[str, Any]) -> None:
        vault = get_vault()
        self.stdout.write(
            f"master key provider: {vault.provider.kind}, current version "
            f"{vault.provider.key_version}"
        )
        for version, count in sorted(DjangoDataKeyStore().master_key_versions().items()):
            self.stdout.write(f"  {count} data keys wrapped by {version}")
