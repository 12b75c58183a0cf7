"""Schemas of the email endpoints: templates, placeholders, previews and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from meterkms.api.schemas.accounts import OrganisationRef


class TemplateItemOut(Schema):
    """A template as listed (without its bodies)."""

    id: int
    name: str
    kind: str
    kind_label: str
    language: str
    organisation: OrganisationRef | None = Field(None, description="null for a system default")
    is_system: bool
    is_active: bool
    in_use: bool = Field(
        False, description="the caller's organisation uses this template for its emails now"
    )
    copied_from: int | None = Field(None, alias="copied_from_id")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_kind_label(obj: Any) -> str:
        return str(obj.get_kind_display())


class TemplateOut(TemplateItemOut):
    """A template with subject and both bodies."""

    subject: str
    body_text: str
    body_html: str


class TemplatePage(Schema):
    """A page of templates; ``count_exact`` is false when ``count`` is a lower bound."""

    count: int
    count_exact: bool
    offset: int
    limit: int
    items: list[TemplateItemOut]


class TemplateIn(Schema):
    """Changes of an organisation's template; omitted fields stay as they are."""

    name: str | None = None
    subject: str | None = None
    body_text: str | None = None
    body_html: str | None = None


class TestEmailIn(Schema):
    """Where to send a test email."""

    to: str = Field(..., max_length=254)


class PreviewOut(Schema):
    """A template rendered with sample values."""

    subject: str
    text: str
    html: str
    values: dict[str, str]


class PlaceholderOut(Schema):
    """One placeholder a template may use."""

    name: str
    description: str
    automatic: bool = Field(description="filled in for every email, not passed by the sender")


class KindOut(Schema):
    """A kind of email and its placeholders."""

    kind: str
    label: str
    placeholders: list[PlaceholderOut]


class OutboxItemOut(Schema):
    """A message of the outbox: where it stands (never a personal link)."""

    id: int
    kind: str
    language: str
    organisation: OrganisationRef | None
    template_name: str
    to_email: str
    recipient_name: str
    subject: str
    is_test: bool
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    message_id: str


class OutboxOut(OutboxItemOut):
    """A message with its masked bodies."""

    from_email: str
    body_text: str
    body_html: str


class OutboxPage(Schema):
    """A page of the outbox."""

    count: int
    count_exact: bool
    offset: int
    limit: int
    items: list[OutboxItemOut]
