"""Invitations: invite, edit, resend, revoke, and accept (the invitee's side).

An invitation link carries a 256-bit random token; the database stores only its SHA-256, so
a dump holds nothing that opens an account. A link works once and until it expires
(``METERKMS_INVITATION_HOURS``, default 72). Resending issues a new token (the old link
dies at once), accepting and revoking clear the stored hash. Accepting claims the
invitation with one conditional UPDATE, so of any number of concurrent accepts exactly one
wins, whatever the isolation level. Every link that does not work — unknown, expired, used,
revoked, superseded — gets the same answer from the same single query.

The email is queued in the outbox inside the same transaction and leaves only when it commits
(see ``mail``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from meterkms.accounts import guards
from meterkms.accounts.models import User
from meterkms.accounts.services import _validate_password, create_user, ensure_email_free
from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.organisations import mail
from meterkms.organisations.models import Invitation, Organisation
from meterkms.organisations.permissions import Perm, may_grant

#: Path of the accept page; the web URL ``web:invitation_accept`` matches it.
ACCEPT_PATH = "/invitations/accept/{token}/"
TOKEN_BYTES = 32  # 256 bits


class InvalidInvitation(DomainError):
    """The one answer for every link that does not work (unknown, expired, used, revoked)."""

    def __init__(self) -> None:
        super().__init__(
            "not_found",
            _(
                "This invitation link is invalid or has expired. Ask your administrator "
                "for a new invitation."
            ),
        )


def hash_token(token: str) -> str:
    """SHA-256 of an invitation token, as stored (256 random bits need no slow hash)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def invitation_link(token: str) -> str:
    """The link of the email: ``<METERKMS_PUBLIC_URL>/invitations/accept/<token>/``."""
    return settings.METERKMS_PUBLIC_URL.rstrip("/") + ACCEPT_PATH.format(token=token)


def expiry_from_now() -> datetime:
    """When a link issued now stops working."""
    return timezone.now() + timedelta(hours=settings.METERKMS_INVITATION_HOURS)


def _refusal(code: str, message: str, field: str) -> DomainError:
    return DomainError(code, message, details=[{"field": field, "message": message}])


def check_invitation(
    *, actor: Any, email: str, name: str, organisation: Organisation, role: str, language: str
) -> str:
    """Validate an invitation before it exists (the review step); returns the clean email.

    The organisation must lie in the actor's subtree, the role must not be above the
    actor's, and the address must belong to nobody yet.
    """
    guards.require_perm(actor, Perm.USERS_INVITE)
    guards.require_in_scope(actor, organisation)
    guards.require_grantable(actor, role)
    if not name.strip():
        raise _refusal("invalid", _("The name must not be empty."), "name")
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise _refusal("invalid", _("Enter a valid email address."), "email") from None
    if language not in dict(settings.LANGUAGES):
        raise _refusal("invalid", _("Unknown language."), "language")
    ensure_email_free(email)
    return email


def _require_open(invitation: Invitation) -> None:
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise DomainError(
            "conflict", _("This invitation has been accepted or revoked; it cannot change.")
        )


def _require_pending_unique(actor: Any, email: str, exclude: Invitation | None = None) -> None:
    pending = Invitation.objects.visible_to(actor).filter(
        email=email, accepted_at__isnull=True, revoked_at__isnull=True
    )
    if exclude is not None:
        pending = pending.exclude(pk=exclude.pk)
    if pending.filter(expires_at__gt=timezone.now()).exists():
        raise _refusal(
            "conflict",
            _("A pending invitation for this address exists already; resend it instead."),
            "email",
        )


def _issue(invitation: Invitation) -> str:
    """Give the invitation a fresh token and expiry; the previous link stops working."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation.token_hash = hash_token(token)
    invitation.expires_at = expiry_from_now()
    invitation.sent_at = timezone.now()
    invitation.send_count += 1
    return token


@transaction.atomic
def invite_user(
    *,
    actor: Any,
    email: str,
    name: str,
    organisation: Organisation,
    role: str,
    language: str,
    channel: str | None = None,
) -> Invitation:
    """Create an invitation and send its email (after commit)."""
    email = check_invitation(
        actor=actor,
        email=email,
        name=name,
        organisation=organisation,
        role=role,
        language=language,
    )
    _require_pending_unique(actor, email)
    invitation = Invitation(
        organisation=organisation,
        email=email,
        name=name.strip(),
        role=role,
        language=language,
        created_by=guards.acting_user(actor),
    )
    token = _issue(invitation)
    invitation.save(force_insert=True)
    record(
        Action.INVITATION_SENT,
        actor=actor,
        organisation=organisation,
        target=invitation,
        data={"email": email, "role": role},
        channel=channel,
    )
    mail.send_invitation(
        invitation, invitation_link(token), inviter_name=guards.acting_user(actor).name
    )
    return invitation


def _locked(actor: Any, invitation: Invitation) -> Invitation:
    guards.require_perm(actor, Perm.USERS_INVITE)
    locked = (
        Invitation._base_manager.select_for_update()
        .select_related("organisation")
        .get(pk=invitation.pk)
    )
    guards.require_in_scope(actor, locked.organisation)
    if not may_grant(guards.acting_user(actor).role, locked.role):
        raise DomainError(
            "forbidden", _("You cannot manage an invitation for a role above your own.")
        )
    return locked


@transaction.atomic
def update_invitation(
    *,
    actor: Any,
    invitation: Invitation,
    email: str,
    name: str,
    organisation: Organisation,
    role: str,
    language: str,
    channel: str | None = None,
) -> Invitation:
    """Edit an invitation that is still open; a new address gets a new link at once."""
    locked = _locked(actor, invitation)
    _require_open(locked)
    email = check_invitation(
        actor=actor,
        email=email,
        name=name,
        organisation=organisation,
        role=role,
        language=language,
    )
    values = {
        "email": email,
        "name": name.strip(),
        "organisation": organisation,
        "role": role,
        "language": language,
    }
    changed = [field for field, value in values.items() if getattr(locked, field) != value]
    if not changed:
        return locked
    if "email" in changed:
        _require_pending_unique(actor, email, exclude=locked)
    for field in changed:
        setattr(locked, field, values[field])
    locked.save(update_fields=changed)
    record(
        Action.INVITATION_UPDATED,
        actor=actor,
        organisation=locked.organisation,
        target=locked,
        data={"fields": sorted(changed)},
        channel=channel,
    )
    if "email" in changed:
        # The old address must not keep a working link.
        _resend(actor, locked, channel)
    return locked


def _resend(actor: Any, invitation: Invitation, channel: str | None) -> Invitation:
    token = _issue(invitation)
    invitation.save(update_fields=["token_hash", "expires_at", "sent_at", "send_count"])
    record(
        Action.INVITATION_RESENT,
        actor=actor,
        organisation=invitation.organisation,
        target=invitation,
        data={"email": invitation.email, "send_count": invitation.send_count},
        channel=channel,
    )
    mail.send_invitation(
        invitation, invitation_link(token), inviter_name=guards.acting_user(actor).name
    )
    return invitation


@transaction.atomic
def resend_invitation(
    *, actor: Any, invitation: Invitation, channel: str | None = None
) -> Invitation:
    """Send a new link (a new expiry period); the previous link dies at once."""
    locked = _locked(actor, invitation)
    _require_open(locked)
    return _resend(actor, locked, channel)


@transaction.atomic
def revoke_invitation(
    *, actor: Any, invitation: Invitation, channel: str | None = None
) -> Invitation:
    """Withdraw an open invitation; its link stops working at once."""
    locked = _locked(actor, invitation)
    _require_open(locked)
    locked.revoked_at = timezone.now()
    locked.token_hash = None
    locked.save(update_fields=["revoked_at", "token_hash"])
    record(
        Action.INVITATION_REVOKED,
        actor=actor,
        organisation=locked.organisation,
        target=locked,
        data={"email": locked.email},
        channel=channel,
    )
    return locked


def live_invitation(token: str) -> Invitation | None:
    """The invitation a link opens, or None — one indexed query whatever the reason.

    Crosses tenants: the visitor has no account yet, and the token itself is the
    credential that names the invitation.
    """
    digest = hash_token(token)
    with tenancy.crossing("an invitation link is its own credential; the visitor has no actor"):
        return (
            Invitation.objects.select_related("organisation")
            .filter(
                token_hash=digest,
                accepted_at__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=timezone.now(),
            )
            .first()
        )


def accept_invitation(
    *, token: str, password: str, confirmation: str, name: str | None = None
) -> User:
    """Create the invitee's account with the chosen password; the link is used up.

    The password is checked under the policy before the invitation is claimed, so a
    rejected password leaves the link working. Of concurrent accepts of one link exactly
    one claims it (a conditional UPDATE on the stored hash); the others get
    :class:`InvalidInvitation`, like any other dead link.
    """
    invitation = live_invitation(token)
    if invitation is None:
        raise InvalidInvitation()
    if password != confirmation:
        raise _refusal("invalid", _("The two passwords differ."), "confirmation")
    chosen_name = (name if name is not None else invitation.name).strip()
    if not chosen_name:
        raise _refusal("invalid", _("The name must not be empty."), "name")
    provisional = User(
        email=invitation.email, name=chosen_name, organisation_id=invitation.organisation_id
    )
    _validate_password(password, provisional)
    return _claim(invitation, hash_token(token), password, chosen_name)


@transaction.atomic
def _claim(invitation: Invitation, digest: str, password: str, name: str) -> User:
    now = timezone.now()
    claimed = Invitation._base_manager.filter(
        pk=invitation.pk,
        token_hash=digest,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).update(accepted_at=now, token_hash=None)
    if claimed != 1:
        raise InvalidInvitation()
    user = create_user(
        email=invitation.email,
        name=name,
        organisation=invitation.organisation,
        role=invitation.role,
        password=password,
        language=invitation.language,
    )
    Invitation._base_manager.filter(pk=invitation.pk).update(user=user)
    invitation.accepted_at, invitation.token_hash, invitation.user = now, None, user
    record(
        Action.INVITATION_ACCEPTED,
        actor=user,
        organisation=invitation.organisation,
        target=invitation,
        data={"role": invitation.role},
    )
    return user
