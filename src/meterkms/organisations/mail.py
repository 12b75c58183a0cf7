"""The invitation email ("invite user"): queued through the outbox, previewed with a mask.

``queue_email`` writes the outbox row inside the invitation service's transaction and hands
it to the worker only after commit, so a rolled-back invitation sends nothing. The link is
masked wherever the message is shown (outbox, preview); the template comes from the
invitee's organisation, else its nearest ancestor, else the system default, in the
invitee's language.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from meterkms.emails import rendering
from meterkms.emails.enums import EmailKind
from meterkms.emails.queries import resolve_template, template_language
from meterkms.emails.services import queue_email
from meterkms.organisations.models import Invitation, Organisation
from meterkms.organisations.permissions import ROLE_LABELS, Role


def _context(*, link: str, expires_at: datetime, inviter_name: str, role: str) -> dict[str, Any]:
    return {
        "link": link,
        "expires_at": expires_at,
        "inviter_name": inviter_name,
        # A lazy label: queue_email translates it into the invitee's language.
        "role": ROLE_LABELS[Role(role)],
    }


def send_invitation(invitation: Invitation, link: str, *, inviter_name: str) -> None:
    """Queue the invitation email; it leaves once the current transaction commits."""
    queue_email(
        kind=EmailKind.INVITE_USER,
        to=invitation.email,
        recipient_name=invitation.name,
        language=invitation.language,
        organisation=invitation.organisation,
        context=_context(
            link=link,
            expires_at=invitation.expires_at,
            inviter_name=inviter_name,
            role=invitation.role,
        ),
        masked=("link",),
    )


def preview(
    *,
    recipient_name: str,
    email: str,
    organisation: Organisation,
    role: str,
    language: str,
    inviter_name: str,
) -> rendering.Rendered:
    """The email as it will be sent, rendered from the same template, with the link masked."""
    language = template_language(language)
    template = resolve_template(
        kind=EmailKind.INVITE_USER, language=language, organisation=organisation
    )
    expires_at = timezone.now() + timedelta(hours=settings.METERKMS_INVITATION_HOURS)
    values = rendering.format_values(
        {
            "recipient_name": recipient_name,
            "recipient_email": email,
            "organisation": organisation.name,
            "site_url": settings.METERKMS_PUBLIC_URL.rstrip("/"),
            **_context(
                link=rendering.MASK, expires_at=expires_at, inviter_name=inviter_name, role=role
            ),
        },
        language,
    )
    return rendering.render(template, rendering.masked(values, ("link",)))
