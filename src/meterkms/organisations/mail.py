"""The invitation email: its text in the invitee's language, sent only after commit.

The message is rendered inside the service's transaction (so it shows what was saved) and
handed to the mailer by ``transaction.on_commit``: a transaction that rolls back sends
nothing. The link is a secret: it is never logged, and the preview shows a placeholder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from meterkms.organisations.models import Invitation, Organisation
from meterkms.organisations.permissions import Role

logger = logging.getLogger(__name__)

#: What the preview shows instead of the link (the token exists only once it is sent).
LINK_PLACEHOLDER = "/invitations/accept/…/"


@dataclass(frozen=True)
class Message:
    """Subject and plain-text body of one email (the body holds the link: never in a repr).

    The on-commit hook logs its callable when delivery fails, so the repr must not show
    the body.
    """

    subject: str
    body: str = field(repr=False)


def render(
    *,
    recipient_name: str,
    organisation: Organisation,
    role: str,
    language: str,
    link: str,
    expires_at: datetime,
) -> Message:
    """The invitation email in ``language``."""
    with translation.override(language):
        expiry = formats.date_format(timezone.localtime(expires_at), "DATETIME_FORMAT")
        values = {
            "recipient_name": recipient_name,
            "organisation": organisation.name,
            "role": Role(role).label,
            "link": link,
            "expires_at": expiry,
        }
        subject = _("Your invitation to %(organisation)s on meterkms") % values
        body = (
            _(
                "Hello %(recipient_name)s,\n\n"
                "you have been invited to join %(organisation)s on meterkms as %(role)s.\n\n"
                "Open this link to choose your password and log in:\n%(link)s\n\n"
                "The link works once, until %(expires_at)s. If you did not expect this "
                "invitation, ignore this email."
            )
            % values
        )
    return Message(subject=subject, body=body)


def preview(
    *, recipient_name: str, organisation: Organisation, role: str, language: str
) -> Message:
    """The email as it will be sent, with a placeholder instead of the secret link."""
    return render(
        recipient_name=recipient_name,
        organisation=organisation,
        role=role,
        language=language,
        link=settings.METERKMS_PUBLIC_URL.rstrip("/") + LINK_PLACEHOLDER,
        expires_at=timezone.now() + timedelta(hours=settings.METERKMS_INVITATION_HOURS),
    )


def _deliver(to: str, message: Message) -> None:
    EmailMessage(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [to]).send()


def send_invitation(invitation: Invitation, link: str) -> None:
    """Send the invitation email once the current transaction commits."""
    message = render(
        recipient_name=invitation.name,
        organisation=invitation.organisation,
        role=invitation.role,
        language=invitation.language,
        link=link,
        expires_at=invitation.expires_at,
    )
    # robust: a mail server failure after the commit is logged, not turned into an error
    # page for a change that did happen; the administrator can resend.
    transaction.on_commit(partial(_deliver, invitation.email, message), robust=True)
