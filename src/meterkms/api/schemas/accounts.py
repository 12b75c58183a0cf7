"""Schemas of the account endpoints."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ninja import Schema


class OrganisationRef(Schema):
    """An organisation as a reference."""

    id: UUID
    name: str


class MeOut(Schema):
    """The caller: user, organisation, role and effective permissions."""

    id: int
    email: str
    name: str
    role: str
    language: str
    organisation: OrganisationRef
    permissions: list[str]
    via_token: bool


class TokenIn(Schema):
    """A new API token; ``scopes`` defaults to all of the caller's permissions."""

    name: str
    scopes: list[str] | None = None
    expires_at: datetime | None = None


class TokenOut(Schema):
    """An API token as listed (never the secret)."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    """A just-created token: ``token`` is shown this once and never again."""

    token: str
