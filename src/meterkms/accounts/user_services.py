"""What an administrator does to other users: edit, set a password, deactivate, delete.

Every function takes the acting administrator and runs the guards first (``guards``): the
user must lie in the actor's subtree (else: not found), the user's current role and any new
role must not be above the actor's, and an administrator never changes their own role,
organisation or activity, nor deletes themselves. Creating users is
``services.create_user`` (shared with the command line and invitations).
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from meterkms.accounts import guards
from meterkms.accounts.models import User
from meterkms.accounts.services import _validate_password, check_fields, ensure_email_free
from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core.errors import DomainError
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Perm

#: Fields ``update_user`` changes besides organisation and role.
PLAIN_FIELDS = ("name", "email", "language", "csv_delimiter", "csv_thousands_separator")


def end_sessions(user: User) -> int:
    """Delete every server-side session of ``user``; returns how many ended.

    The authentication backend already refuses inactive users on every request; deleting
    the sessions as well means nothing of the old login survives, not even its data. The
    session table holds no user column, so the live sessions are decoded one by one — an
    administrative action, rare enough for that.
    """
    ended = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            ended.append(session.session_key)
    if ended:
        Session.objects.filter(session_key__in=ended).delete()
    return len(ended)


def _lock(user: User) -> User:
    """The user's row, locked for the rest of the transaction, with its organisation."""
    return User._base_manager.select_for_update().select_related("organisation").get(pk=user.pk)


@transaction.atomic
def update_user(
    *,
    actor: Any,
    user: User,
    organisation: Organisation | None = None,
    role: str | None = None,
    channel: str | None = None,
    **changes: str,
) -> User:
    """Change a user's name, email, language, CSV preferences, organisation and role.

    A role change is audited as ``user.role_changed`` (old and new role); the other
    changes as ``user.updated`` with the names of the changed fields.
    """
    guards.require_perm(actor, Perm.USERS_MANAGE)
    unknown = set(changes) - set(PLAIN_FIELDS)
    if unknown:
        raise DomainError(
            "invalid", _("Unknown fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    guards.require_manageable(actor, user)
    user = _lock(user)
    guards.require_manageable(actor, user)
    changed = _apply_plain(user, changes)
    if organisation is not None and organisation.pk != user.organisation_id:
        guards.require_not_self(actor, user, _("You cannot move yourself to another organisation."))
        guards.require_in_scope(actor, organisation)
        user.organisation = organisation
        changed.append("organisation")
    old_role = user.role
    if role is not None and role != old_role:
        guards.require_not_self(actor, user, _("You cannot change your own role."))
        guards.require_grantable(actor, role)
        user.role = role
    if not changed and user.role == old_role:
        return user
    check_fields(user)
    user.save(update_fields=[*changed, "role"])
    if changed:
        record(
            Action.USER_UPDATED,
            actor=actor,
            organisation=user.organisation,
            target=user,
            data={"fields": sorted(changed)},
            channel=channel,
        )
    if user.role != old_role:
        record(
            Action.USER_ROLE_CHANGED,
            actor=actor,
            organisation=user.organisation,
            target=user,
            data={"old_role": old_role, "new_role": user.role},
            channel=channel,
        )
    return user


def _apply_plain(user: User, changes: dict[str, str]) -> list[str]:
    changed = []
    for name, value in changes.items():
        value = value.strip() if name in {"name", "email"} else value
        if name == "email":
            value = value.lower()
        if getattr(user, name) != value:
            if name == "email":
                ensure_email_free(value, exclude=user)
            setattr(user, name, value)
            changed.append(name)
    return changed


@transaction.atomic
def set_user_password(
    *, actor: Any, user: User, password: str, confirmation: str, channel: str | None = None
) -> User:
    """Set another user's password under the policy; they must change it at their next login.

    Every session of the user ends; their API tokens keep working (they do not depend on
    the password).
    """
    guards.require_perm(actor, Perm.USERS_MANAGE)
    guards.require_manageable(actor, user)
    guards.require_not_self(actor, user, _("Change your own password in your profile."))
    if password != confirmation:
        message = _("The two passwords differ.")
        raise DomainError(
            "invalid", message, details=[{"field": "confirmation", "message": message}]
        )
    user = _lock(user)
    _validate_password(password, user)
    user.set_password(password)
    user.must_change_password = True
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    ended = end_sessions(user)
    record(
        Action.USER_PASSWORD_SET,
        actor=actor,
        organisation=user.organisation,
        target=user,
        data={"sessions_ended": ended},
        channel=channel,
    )
    return user


@transaction.atomic
def deactivate_user(*, actor: Any, user: User, channel: str | None = None) -> User:
    """Deactivate an account: every session ends at once and the user cannot log in.

    API tokens of an inactive user are refused as well (``ApiToken.is_usable``).
    """
    guards.require_perm(actor, Perm.USERS_MANAGE)
    guards.require_manageable(actor, user)
    guards.require_not_self(actor, user, _("You cannot deactivate your own account."))
    user = _lock(user)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    ended = end_sessions(user)
    record(
        Action.USER_DEACTIVATED,
        actor=actor,
        organisation=user.organisation,
        target=user,
        data={"sessions_ended": ended},
        channel=channel,
    )
    return user


@transaction.atomic
def reactivate_user(*, actor: Any, user: User, channel: str | None = None) -> User:
    """Let a deactivated user log in again."""
    guards.require_perm(actor, Perm.USERS_MANAGE)
    guards.require_manageable(actor, user)
    user = _lock(user)
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        record(
            Action.USER_REACTIVATED,
            actor=actor,
            organisation=user.organisation,
            target=user,
            channel=channel,
        )
    return user


@transaction.atomic
def delete_user(*, actor: Any, user: User, channel: str | None = None) -> None:
    """Delete an account, its sessions and its API tokens; the audit log keeps its name."""
    guards.require_perm(actor, Perm.USERS_MANAGE)
    guards.require_manageable(actor, user)
    guards.require_not_self(actor, user, _("You cannot delete your own account."))
    user = _lock(user)
    end_sessions(user)
    # Recorded first: the event copies the user's name and id before the row goes.
    record(
        Action.USER_DELETED,
        actor=actor,
        organisation=user.organisation,
        target=user,
        data={"email": user.email, "role": user.role},
        channel=channel,
    )
    user.delete()
