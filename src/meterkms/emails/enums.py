"""Email kinds, outbox states and the documented placeholders of each kind.

The placeholder set of a kind is a contract: templates may use exactly these names, and a
sender provides exactly the values the kind requires (:data:`AUTOMATIC` ones are filled in
by :func:`meterkms.emails.services.queue_email`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class EmailKind(models.TextChoices):
    """What an email is for; each kind has its own placeholders and system defaults."""

    CONFIRM_EMAIL = "confirm_email", _("Confirm email address")
    INVITE_USER = "invite_user", _("Invite user")
    NEW_BATCH = "new_batch", _("New batch notification")
    PASSWORD_RESET = "password_reset", _("Password reset")


class OutboxState(models.TextChoices):
    """Where a message of the outbox stands."""

    QUEUED = "queued", _("queued")
    SENDING = "sending", _("sending")
    RETRYING = "retrying", _("waiting for retry")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


#: States in which a message still waits to be sent.
PENDING_STATES = (OutboxState.QUEUED, OutboxState.RETRYING, OutboxState.SENDING)


@dataclass(frozen=True)
class Placeholder:
    """One ``{name}`` a template may use, with what it stands for."""

    name: str
    description: str | Promise


_RECIPIENT_NAME = Placeholder("recipient_name", _("name of the recipient"))
_RECIPIENT_EMAIL = Placeholder("recipient_email", _("email address of the recipient"))
_ORGANISATION = Placeholder("organisation", _("name of the sending organisation"))
_SITE_URL = Placeholder("site_url", _("address of this meterkms installation"))
_LINK = Placeholder("link", _("the personal link of this email (hidden in the outbox)"))
_EXPIRES_AT = Placeholder("expires_at", _("when the link stops working"))

#: Filled in for every email by ``queue_email``; a sender may override ``organisation``.
AUTOMATIC: tuple[Placeholder, ...] = (_RECIPIENT_NAME, _RECIPIENT_EMAIL, _ORGANISATION, _SITE_URL)

#: The values a sender must provide, per kind.
REQUIRED: dict[str, tuple[Placeholder, ...]] = {
    EmailKind.CONFIRM_EMAIL: (_LINK, _EXPIRES_AT),
    EmailKind.INVITE_USER: (
        _LINK,
        _EXPIRES_AT,
        Placeholder("inviter_name", _("name of the person who sent the invitation")),
        Placeholder("role", _("the role the invitee will have")),
    ),
    EmailKind.NEW_BATCH: (
        _LINK,
        Placeholder("batch_reference", _("reference of the shipment batch")),
        Placeholder("device_count", _("number of devices in the batch")),
        Placeholder("recipient_organisation", _("organisation the batch is addressed to")),
    ),
    EmailKind.PASSWORD_RESET: (_LINK, _EXPIRES_AT),
}


def placeholders(kind: str) -> tuple[Placeholder, ...]:
    """Every placeholder a template of ``kind`` may use, automatic ones first."""
    return AUTOMATIC + REQUIRED[EmailKind(kind)]


def placeholder_names(kind: str) -> frozenset[str]:
    """The names of :func:`placeholders`."""
    return frozenset(placeholder.name for placeholder in placeholders(kind))
