"""The manual's demo data: organisation IntegraDemo and the user "Demo Integra".

Loading is idempotent: what exists is kept (the demo password is only set when the user is
created, or when METERKMS_DEMO_PASSWORD asks for a specific one).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from meterkms.accounts.models import User
from meterkms.accounts.services import create_user
from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.cli.init import write_secret_file
from meterkms.core import tenancy
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Role
from meterkms.organisations.services import create_organisation

DEMO_ORGANISATION = "IntegraDemo"
DEMO_EMAIL = "demo@integra-metering.com"
DEMO_NAME = "Demo Integra"


@dataclass(frozen=True)
class DemoLogin:
    """What `meterkms demo` prints."""

    email: str
    password: str
    organisation: str


def _generated_password(path: Path) -> str:
    if not path.exists():
        # Classes first so the policy's rule holds whatever the random part contains.
        write_secret_file(path, "Demo-" + secrets.token_urlsafe(12) + "-7k!")
    return path.read_text(encoding="ascii").strip()


def demo_password() -> str:
    """METERKMS_DEMO_PASSWORD, else a generated one kept in the data directory."""
    return settings.METERKMS_DEMO_PASSWORD or _generated_password(
        settings.DATA_DIR / "demo-password"
    )


@transaction.atomic
def load_demo() -> DemoLogin:
    """Create the demo organisation and user if missing."""
    password = demo_password()
    with tenancy.crossing("the demo loader sets up the demo organisation from outside"):
        organisation = Organisation.objects.filter(name=DEMO_ORGANISATION, parent=None).first()
        if organisation is None:
            organisation = create_organisation(
                name=DEMO_ORGANISATION, parent=None, may_create_organisations=True, channel="cli"
            )
        user = User.objects.filter(email=DEMO_EMAIL).first()
    if user is None:
        create_user(
            email=DEMO_EMAIL,
            name=DEMO_NAME,
            organisation=organisation,
            role=Role.OTC_ADMIN,
            password=password,
            language="de",
            channel="cli",
        )
    elif settings.METERKMS_DEMO_PASSWORD and not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    record(Action.DEMO_LOADED, organisation=organisation, channel="cli")
    return DemoLogin(email=DEMO_EMAIL, password=password, organisation=organisation.name)
