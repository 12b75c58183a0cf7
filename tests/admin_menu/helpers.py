"""Objects for admin-menu tests: users, invitations (with their token), organisations, links."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone

from meterkms.accounts.models import User
from meterkms.core import tenancy
from meterkms.organisations.invitations import hash_token
from meterkms.organisations.models import Invitation, Organisation, Partnership
from meterkms.organisations.permissions import Role
from tests.support.personas import World, make_org, make_user

#: A password the policy accepts (and that is unlike the generated names and addresses).
NEW_PASSWORD = "Violet-Harbour-58-Lantern!"


def unique_email(prefix: str = "walk") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.net"


def other_tree_user(world: World, persona: User) -> User:
    """Someone of the tree the persona does not belong to."""
    return world.cecil if persona.organisation_id != world.org_b.pk else world.olga


def other_root(world: World, persona: User) -> Organisation:
    return world.org_b if persona.organisation_id != world.org_b.pk else world.org_a


def fresh_user(organisation: Organisation, role: Role = Role.VIEWER) -> User:
    with tenancy.crossing("test set-up"):
        return make_user(unique_email("person"), organisation, role)


def fresh_child(parent: Organisation, name: str = "Walk Depot") -> Organisation:
    with tenancy.crossing("test set-up"):
        return make_org(name, parent=parent)


def fresh_root(name: str = "Walk Partner GmbH") -> Organisation:
    with tenancy.crossing("test set-up"):
        return make_org(name)


def invitation_with_token(
    organisation: Organisation,
    *,
    role: Role = Role.VIEWER,
    expired: bool = False,
    email: str | None = None,
    created_by: User | None = None,
) -> tuple[Invitation, str]:
    """An invitation row written directly (no email), and the token of its link."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation._base_manager.create(
        organisation=organisation,
        email=email or unique_email("invitee"),
        name="Ines Invitee",
        role=role.value,
        language="en",
        token_hash=hash_token(token),
        expires_at=now - timedelta(hours=1) if expired else now + timedelta(hours=72),
        sent_at=now,
        send_count=1,
        created_by=created_by,
    )
    return invitation, token


def link_between(one: Organisation, other: Organisation) -> Partnership:
    first, second = sorted((one, other), key=lambda org: org.pk)
    return Partnership._base_manager.create(first=first, second=second)


def audit_actions(**filters: Any) -> list[str]:
    from meterkms.audit.models import AuditEvent

    with tenancy.crossing("tests read the whole audit log"):
        return list(
            AuditEvent.objects.filter(**filters).order_by("seq").values_list("action", flat=True)
        )
