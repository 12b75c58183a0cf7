"""Roles and permissions: the only place where a role's rights are defined.

A permission is ``"<resource>:<action>"``. ``ROLE_PERMS`` maps each role to its set; code
checks ``actor.has(Perm.KEYS_DOWNLOAD)`` and never compares role names. The table is rendered
into docs/permissions.md and a test fails when the two differ.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Role(StrEnum):
    """A user's role within their organisation's subtree."""

    OTC_ADMIN = "OTC_ADMIN"
    ADMIN = "ADMIN"
    OPERATOR = "OPERATOR"
    VIEWER = "VIEWER"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(role.value, role.value) for role in cls]


ROLE_LABELS = {
    Role.OTC_ADMIN: _("OTC admin"),
    Role.ADMIN: _("Administrator"),
    Role.OPERATOR: _("Key operator"),
    Role.VIEWER: _("Viewer"),
}


class Perm(StrEnum):
    """A permission; values are ``resource:action``."""

    PROFILE_EDIT = "profile:edit"
    TOKENS_MANAGE = "tokens:manage"
    AUDIT_READ = "audit:read"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    USERS_INVITE = "users:invite"
    ORGANISATIONS_READ = "organisations:read"
    ORGANISATIONS_CREATE = "organisations:create"
    ORGANISATIONS_EDIT = "organisations:edit"
    PARTNERS_MANAGE = "partners:manage"
    EMAILS_READ = "emails:read"
    EMAILS_EDIT = "emails:edit"
    DEVICES_READ = "devices:read"
    DEVICES_IMPORT = "devices:import"
    DEVICES_UPDATE = "devices:update"
    DEVICE_TYPES_MANAGE = "device_types:manage"
    LABELS_EDIT = "labels:edit"
    DEVICES_CLAIM = "devices:claim"
    OWNERSHIP_TRANSFER = "ownership:transfer"
    BATCHES_READ = "batches:read"
    BATCHES_CREATE = "batches:create"
    BATCHES_CONFIRM = "batches:confirm"
    KEYS_DOWNLOAD = "keys:download"
    KEYS_PROVE = "keys:prove"
    KEYS_MANAGE = "keys:manage"


_EVERYONE = {
    Perm.PROFILE_EDIT,
    Perm.DEVICES_READ,
    Perm.BATCHES_READ,
    Perm.ORGANISATIONS_READ,
}
_OPERATOR = _EVERYONE | {
    Perm.TOKENS_MANAGE,
    Perm.LABELS_EDIT,
    Perm.DEVICES_CLAIM,
    Perm.KEYS_DOWNLOAD,
    Perm.KEYS_PROVE,
}
_ADMIN = _OPERATOR | {
    Perm.AUDIT_READ,
    Perm.EMAILS_READ,
    Perm.USERS_READ,
    Perm.USERS_MANAGE,
    Perm.USERS_INVITE,
    Perm.ORGANISATIONS_CREATE,
    Perm.ORGANISATIONS_EDIT,
    Perm.PARTNERS_MANAGE,
    Perm.OWNERSHIP_TRANSFER,
    Perm.BATCHES_CREATE,
}

#: The role table. OTC_ADMIN is the manufacturer/platform administrator: everything.
ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.OTC_ADMIN: frozenset(Perm),
    Role.ADMIN: frozenset(_ADMIN),
    Role.OPERATOR: frozenset(_OPERATOR),
    Role.VIEWER: frozenset(_EVERYONE),
}

#: Roles in descending power; an actor may grant only roles at or below their own.
ROLE_RANK: dict[Role, int] = {
    Role.OTC_ADMIN: 4,
    Role.ADMIN: 3,
    Role.OPERATOR: 2,
    Role.VIEWER: 1,
}


def perms_of(role: str) -> frozenset[Perm]:
    """The permissions of ``role``; an unknown role has none."""
    try:
        return ROLE_PERMS[Role(role)]
    except ValueError:
        return frozenset()


def may_grant(granter_role: str, role: str) -> bool:
    """True when a user with ``granter_role`` may give someone ``role``."""
    try:
        return ROLE_RANK[Role(granter_role)] >= ROLE_RANK[Role(role)]
    except ValueError:
        return False


def permission_matrix_markdown() -> str:
    """The role table as a Markdown matrix (kept in docs/permissions.md)."""
    roles = list(Role)
    lines = [
        "| permission | " + " | ".join(role.value for role in roles) + " |",
        "|---|" + "|".join(":-:" for _role in roles) + "|",
    ]
    for perm in Perm:
        marks = ["✔" if perm in ROLE_PERMS[role] else "" for role in roles]
        lines.append(f"| `{perm.value}` | " + " | ".join(marks) + " |")
    return "\n".join(lines) + "\n"
