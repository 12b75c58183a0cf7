"""Many concurrent accepts of one invitation link, each on its own database connection.

Used in-process on PostgreSQL (threads, one connection each) and, for SQLite, as a separate
process on a database file (``python -m tests.organisations.race FILE ROUNDS CONTENDERS``):
the test database of SQLite lives in shared-cache memory, whose table locks do not wait,
while the file database behaves as in production (WAL, BEGIN IMMEDIATE, busy timeout).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

from tests.support.race import at_once

NEW_PASSWORD = "Violet-Harbour-58-Lantern!"


def race(token: str, contenders: int) -> list[str]:
    """``contenders`` threads accept ``token`` at the same moment; each says won/lost/error."""
    from meterkms.organisations import invitations

    def attempt() -> str:
        try:
            invitations.accept_invitation(
                token=token, password=NEW_PASSWORD, confirmation=NEW_PASSWORD
            )
        except invitations.InvalidInvitation:
            return "lost"
        return "won"

    return at_once(attempt, contenders)


def new_invitation(organisation: object, email: str) -> tuple[object, str]:
    """A pending invitation written directly, and its token."""
    from django.utils import timezone

    from meterkms.organisations.invitations import hash_token
    from meterkms.organisations.models import Invitation

    token = secrets.token_urlsafe(32)
    invitation = Invitation._base_manager.create(
        organisation=organisation,
        email=email,
        name="Rita Race",
        role="VIEWER",
        language="en",
        token_hash=hash_token(token),
        expires_at=timezone.now() + timedelta(hours=1),
        sent_at=timezone.now(),
        send_count=1,
    )
    return invitation, token


def outcome_of(invitation: object, email: str, results: list[str]) -> dict[str, object]:
    """What one round left behind: results, accounts, accepted events, invitation state."""
    from meterkms.accounts.models import User
    from meterkms.audit.models import AuditEvent
    from meterkms.organisations.models import Invitation

    row = Invitation._base_manager.get(pk=invitation.pk)  # type: ignore[attr-defined]
    return {
        "won": results.count("won"),
        "lost": results.count("lost"),
        "errors": [r for r in results if r.startswith("error")],
        "accounts": User._base_manager.filter(email=email).count(),
        "accepted_events": AuditEvent._base_manager.filter(
            action="invitation.accepted", target_id=str(row.pk)
        ).count(),
        "state": row.state,
        "user_matches": row.user_id
        == User._base_manager.filter(email=email).values_list("pk", flat=True).first(),
    }


def _main(database: Path, rounds: int, contenders: int) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "meterkms.settings",
            "METERKMS_DATA_DIR": str(database.parent),
            "METERKMS_DATABASE_URL": f"sqlite:///{database}",
            "METERKMS_SECRET_KEY": secrets.token_urlsafe(48),
            "METERKMS_AUDIT_KEY": secrets.token_hex(32),
            "METERKMS_TASK_BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
            "METERKMS_LOG_LEVEL": "WARNING",
        }
    )
    import django
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    django.setup()
    from django.core.management import call_command

    from meterkms.core import tenancy
    from meterkms.organisations.services import create_organisation

    call_command("migrate", verbosity=0)
    with tenancy.crossing("the race sets up its own organisation"):
        organisation = create_organisation(name="Race Org", parent=None)
    report = []
    for number in range(rounds):
        email = f"race-{number}@example.net"
        invitation, token = new_invitation(organisation, email)
        report.append(outcome_of(invitation, email, race(token, contenders)))
    print(json.dumps(report))


if __name__ == "__main__":
    _main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
