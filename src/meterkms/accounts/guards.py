"""The checks every administrative service runs before it changes users or invitations.

An administrator acts only inside their organisation subtree, never grants a role above
their own (``permissions.may_grant``), and never manages someone whose role is above
theirs. The services call these checks themselves, so the web UI, the API and the
command line cannot forget them. An object outside the actor's subtree is reported as
missing (``not_found``), exactly like an object that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from meterkms.core.errors import DomainError, NotFound
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Perm, Role, may_grant

if TYPE_CHECKING:
    from meterkms.accounts.models import User


def acting_user(actor: Any) -> User:
    """The user behind ``actor`` (a user, or the user of an API token)."""
    return getattr(actor, "user", actor)


def require_perm(actor: Any, perm: Perm) -> None:
    """Refuse unless the actor's role (and token scopes) include ``perm``."""
    if actor is None or not actor.has(perm):
        raise DomainError("forbidden", _("Your role does not allow this action."))


def in_scope(actor: Any, organisation: Organisation) -> bool:
    """True when ``organisation`` lies in the actor's organisation subtree."""
    return organisation.path.startswith(actor.organisation_path)


def require_in_scope(actor: Any, organisation: Organisation) -> None:
    """Refuse an organisation outside the actor's subtree as if it did not exist."""
    if not in_scope(actor, organisation):
        raise NotFound(_("Not found."))


def require_grantable(actor: Any, role: str) -> None:
    """Refuse a role that is unknown or above the actor's own."""
    try:
        Role(role)
    except ValueError:
        raise DomainError(
            "invalid",
            _("Unknown role."),
            details=[{"field": "role", "message": _("Unknown role.")}],
        ) from None
    if not may_grant(acting_user(actor).role, role):
        message = _("You cannot grant a role above your own.")
        raise DomainError("forbidden", message, details=[{"field": "role", "message": message}])


def require_manageable(actor: Any, user: User) -> None:
    """Refuse a user outside the actor's subtree (missing) or with a role above the actor's."""
    require_in_scope(actor, user.organisation)
    if not may_grant(acting_user(actor).role, user.role):
        raise DomainError("forbidden", _("You cannot manage a user whose role is above your own."))


def require_not_self(actor: Any, user: User, message: str) -> None:
    """Refuse an action an administrator must not take on their own account."""
    if acting_user(actor).pk == user.pk:
        raise DomainError("forbidden", message)
