"""Schemas of ``/api/v1/organisations``, ``/api/v1/partners`` and ``/api/v1/invitations``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ninja import Schema

from meterkms.api.schemas.accounts import OrganisationRef


class OrganisationOut(Schema):
    """An organisation; ``parent`` is null for the caller's own organisation and for roots."""

    id: UUID
    name: str
    customer_reference: str
    may_create_organisations: bool
    parent: OrganisationRef | None
    created_at: datetime


class OrganisationPage(Schema):
    """A page of organisations."""

    count: int
    count_exact: bool
    offset: int
    limit: int
    items: list[OrganisationOut]


class OrganisationIn(Schema):
    """A new organisation below ``parent_id`` (an organisation of the caller's subtree)."""

    name: str
    parent_id: UUID
    customer_reference: str = ""
    may_create_organisations: bool = False


class OrganisationPatch(Schema):
    """Fields to change; a new ``parent_id`` moves the organisation with its subtree."""

    name: str | None = None
    parent_id: UUID | None = None
    customer_reference: str | None = None
    may_create_organisations: bool | None = None


class PartnershipOut(Schema):
    """A partner link as seen from the caller's tree: ``organisation`` is the caller's side."""

    id: int
    organisation: OrganisationRef
    partner: OrganisationRef
    created_at: datetime


class PartnershipPage(Schema):
    """A page of partner links."""

    count: int
    count_exact: bool
    offset: int
    limit: int
    items: list[PartnershipOut]


class PartnerIn(Schema):
    """The pasted ID of the partner; ``organisation_id`` defaults to the caller's own."""

    partner_id: str
    organisation_id: UUID | None = None


class InvitationOut(Schema):
    """An invitation (never its token)."""

    id: int
    name: str
    email: str
    organisation: OrganisationRef
    role: str
    language: str
    state: str
    created_at: datetime
    sent_at: datetime | None
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    send_count: int


class InvitationPage(Schema):
    """A page of invitations."""

    count: int
    count_exact: bool
    offset: int
    limit: int
    items: list[InvitationOut]


class InvitationIn(Schema):
    """A new invitation; the email is sent when the request succeeds."""

    name: str
    email: str
    organisation_id: UUID
    role: str
    language: str = "de"


class InvitationPatch(Schema):
    """Fields to change; a new ``email`` sends a new link (the old one dies)."""

    name: str | None = None
    email: str | None = None
    organisation_id: UUID | None = None
    role: str | None = None
    language: str | None = None


class EmailPreviewOut(Schema):
    """The invitation email as it would be sent (subject and plain text; the link masked)."""

    subject: str
    body: str


class AcceptIn(Schema):
    """Accept an invitation: the token of the link and the chosen password."""

    token: str
    password: str
    confirmation: str
    name: str | None = None


class AcceptedOut(Schema):
    """The account an accepted invitation created."""

    id: int
    email: str
    name: str
    organisation: OrganisationRef
    role: str
