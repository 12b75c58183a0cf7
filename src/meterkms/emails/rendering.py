"""Turning a template and a sender's values into the subject and both bodies of an email.

Values are formatted in the recipient's language (numbers with its grouping, times in the
installation's time zone with its date format, lazily translated strings in that language)
and then inserted by the safe formatter: HTML-escaped in the HTML body, without line breaks
in the subject. The *masked* rendering replaces secret values (links with tokens) and is the
only one ever shown on a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.functional import Promise

from meterkms.emails import formatting
from meterkms.emails.enums import EmailKind, placeholder_names

#: What a secret value looks like wherever a message is shown.
MASK = "••••••"

Value = str | int | datetime | date | Promise


class TemplateLike(Protocol):
    """Anything with a subject and two bodies (a stored template, or unsaved edits)."""

    kind: str
    subject: str
    body_text: str
    body_html: str


@dataclass(frozen=True)
class Rendered:
    """Subject, plain-text body and HTML body of one email."""

    subject: str
    text: str
    html: str

    def as_payload(self) -> dict[str, str]:
        """The JSON form kept in the outbox until the message is sent."""
        return {"subject": self.subject, "text": self.text, "html": self.html}


def format_value(value: Value, language: str) -> str:
    """``value`` as text for a reader of ``language``."""
    with translation.override(language):
        if isinstance(value, datetime):
            local = timezone.localtime(value) if timezone.is_aware(value) else value
            return f"{formats.date_format(local, 'DATETIME_FORMAT')} ({local.tzname() or ''})"
        if isinstance(value, date):
            return formats.date_format(value, "DATE_FORMAT")
        if isinstance(value, bool):
            raise TypeError("placeholder values cannot be booleans")
        if isinstance(value, int):
            return formats.number_format(value, force_grouping=True)
        return str(value)


def format_values(values: Mapping[str, Value], language: str) -> dict[str, str]:
    """Every value of ``values`` formatted for ``language``."""
    return {name: format_value(value, language) for name, value in values.items()}


def render(template: TemplateLike, values: Mapping[str, str]) -> Rendered:
    """The email ``template`` makes of ``values`` (already formatted strings)."""
    allowed = placeholder_names(template.kind)
    return Rendered(
        subject=formatting.render(
            template.subject, values, allowed=allowed, escape=formatting.escape_subject
        ).strip(),
        text=formatting.render(template.body_text, values, allowed=allowed, escape=formatting.keep),
        html=formatting.render(
            template.body_html, values, allowed=allowed, escape=formatting.escape_html
        ),
    )


def masked(values: Mapping[str, str], secret: tuple[str, ...]) -> dict[str, str]:
    """``values`` with every name in ``secret`` replaced by :data:`MASK`."""
    return {name: (MASK if name in secret else value) for name, value in values.items()}


def sample_values(kind: str, *, organisation: str, language: str) -> dict[str, str]:
    """Example values for a preview or a test email of ``kind``, formatted for ``language``."""
    from meterkms.organisations.permissions import ROLE_LABELS, Role

    site = settings.METERKMS_PUBLIC_URL.rstrip("/")
    values: dict[str, Value] = {
        "recipient_name": "Alex Example",
        "recipient_email": "alex@example.com",
        "organisation": organisation,
        "site_url": site,
        "link": f"{site}/example-link-of-this-email/",
        "expires_at": timezone.now().replace(second=0, microsecond=0) + timedelta(hours=72),
        "inviter_name": "Sam Sender",
        "role": ROLE_LABELS[Role.ADMIN],
        "batch_reference": "VL-2026-0042",
        "device_count": 1250,
        "recipient_organisation": "Example Utility",
    }
    names = placeholder_names(EmailKind(kind))
    return format_values({name: value for name, value in values.items() if name in names}, language)
