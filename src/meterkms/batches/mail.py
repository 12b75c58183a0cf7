"""The "new batch" email to the recipient organisation's administrators.

Queued through the outbox inside the batch's transaction (``queue_email``), so it leaves
only when the batch is committed, in each administrator's language, with the creator's
template (else its parents', else the system default). The link is not secret: it leads to
the batch page, which asks for a login.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.urls import reverse

from meterkms.accounts.models import User
from meterkms.batches.models import Batch
from meterkms.core.errors import DomainError
from meterkms.emails.enums import EmailKind
from meterkms.emails.services import queue_email
from meterkms.organisations.permissions import Role

logger = logging.getLogger(__name__)

#: Who hears of a new batch: the recipient organisation's administrators.
NOTIFIED_ROLES = (Role.OTC_ADMIN.value, Role.ADMIN.value)


def batch_link(batch: Batch) -> str:
    """The batch's page at ``METERKMS_PUBLIC_URL``."""
    return settings.METERKMS_PUBLIC_URL.rstrip("/") + reverse("web:batch_detail", args=[batch.pk])


def notify_recipient(batch: Batch) -> int:
    """Queue the email to every active administrator of the recipient; returns how many."""
    # The recipient's people lie outside the creator's scope: reading them is the point of
    # the notification, and only their addresses and languages leave this function.
    admins = User._base_manager.filter(
        organisation_id=batch.recipient_id, role__in=NOTIFIED_ROLES, is_active=True
    ).order_by("pk")
    link = batch_link(batch)
    queued = 0
    for admin in admins:
        try:
            queue_email(
                kind=EmailKind.NEW_BATCH,
                to=admin.email,
                recipient_name=admin.name,
                language=admin.language,
                organisation=batch.creator,
                context={
                    "link": link,
                    "batch_reference": batch.reference,
                    "device_count": batch.device_count,
                    "recipient_organisation": batch.recipient.name,
                },
                masked=(),
            )
        except DomainError:
            # One unusable address must not undo the batch; the others still hear of it.
            logger.warning("new-batch email to user %s refused: unusable address", admin.pk)
            continue
        queued += 1
    return queued
