"""Schemas of ``/api/v1/users``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Schema

from meterkms.accounts import mfa
from meterkms.api.schemas.accounts import OrganisationRef


class UserOut(Schema):
    """A user as an administrator sees them (never the password hash)."""

    id: int
    name: str
    email: str
    organisation: OrganisationRef
    role: str
    language: str
    csv_delimiter: str
    csv_thousands_separator: str
    is_active: bool
    must_change_password: bool
    date_joined: datetime
    last_login: datetime | None
    mfa_enabled: bool

    @staticmethod
    def resolve_mfa_enabled(obj: Any) -> bool:
        """True when the user has set up a second factor (an authenticator app)."""
        flag = getattr(obj, "has_second_factor", None)
        return bool(flag) if flag is not None else mfa.is_enabled(obj)


class UserPage(Schema):
    """A page of users; ``count_exact`` is false when ``count`` is a lower bound."""

    count: int
    count_exact: bool
    offset: int
    limit: int
    items: list[UserOut]


class UserIn(Schema):
    """A new user; the password follows the policy and must be changed at the first login."""

    name: str
    email: str
    organisation_id: UUID
    role: str
    language: str = "de"
    csv_delimiter: str = ";"
    csv_thousands_separator: str = ""
    password: str


class UserPatch(Schema):
    """Fields to change; missing fields stay as they are."""

    name: str | None = None
    email: str | None = None
    organisation_id: UUID | None = None
    role: str | None = None
    language: str | None = None
    csv_delimiter: str | None = None
    csv_thousands_separator: str | None = None


class PasswordIn(Schema):
    """A password an administrator sets; the user must change it at the next login."""

    password: str
    confirmation: str
