"""Sending email through the outbox: ``queue_email``, test emails, sending again.

The sending API other features use is :func:`queue_email`: it picks the template (the
recipient's language; the sending organisation's active template, else the nearest
ancestor's, else the system default), renders it through the safe formatter, writes the
outbox row in the caller's transaction and hands the row to the task worker once that
transaction commits. Nothing is sent if the caller rolls back.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from email.utils import make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core.errors import DomainError
from meterkms.emails import rendering
from meterkms.emails.delivery import enqueue_delivery
from meterkms.emails.enums import REQUIRED, EmailKind, OutboxState, placeholder_names
from meterkms.emails.models import EmailTemplate, OutboxMessage
from meterkms.emails.queries import resolve_template, template_language
from meterkms.emails.services.templates import require_edit
from meterkms.organisations.models import Organisation


def checked_address(address: str) -> str:
    """``address`` trimmed and lower-cased; DomainError("invalid") when it is unusable."""
    address = address.strip()
    try:
        validate_email(address)
    except ValidationError:
        raise DomainError(
            "invalid",
            _("“%(address)s” is not a valid email address.") % {"address": address[:254]},
            details=[{"field": "to", "message": _("Enter a valid email address.")}],
        ) from None
    return address.lower()


def _check_context(kind: EmailKind, context: Mapping[str, Any], masked: tuple[str, ...]) -> None:
    """A sender's values must match the kind's documented placeholders exactly."""
    required = {placeholder.name for placeholder in REQUIRED[kind]}
    missing = required - set(context)
    unknown = set(context) - required - {"organisation"}
    if missing or unknown:
        raise ValueError(
            f"queue_email({kind.value}): missing values {sorted(missing)}, "
            f"unknown values {sorted(unknown)}; expected exactly {sorted(required)}"
        )
    beyond = set(masked) - placeholder_names(kind)
    if beyond:
        raise ValueError(f"queue_email({kind.value}): cannot mask unknown values {sorted(beyond)}")


def _write_outbox(
    *,
    template: EmailTemplate,
    to: str,
    recipient_name: str,
    language: str,
    organisation: Organisation | None,
    values: dict[str, str],
    masked: tuple[str, ...],
    is_test: bool = False,
) -> OutboxMessage:
    """Render ``template`` twice (deliverable and masked) and store the outbox row."""
    deliverable = rendering.render(template, values)
    shown = rendering.render(template, rendering.masked(values, masked))
    subject_prefix = "[Test] " if is_test else ""
    from_email = settings.EMAIL_FROM
    domain = parseaddr(from_email)[1].rpartition("@")[2] or "localhost"
    now = timezone.now()
    message = OutboxMessage(
        organisation=organisation,
        kind=template.kind,
        language=language,
        template=template,
        template_name=template.name[:200],
        to_email=to,
        recipient_name=recipient_name[:200],
        from_email=from_email,
        subject=(subject_prefix + shown.subject)[:300],
        body_text=shown.text,
        body_html=shown.html,
        payload={**deliverable.as_payload(), "subject": subject_prefix + deliverable.subject},
        is_test=is_test,
        state=OutboxState.QUEUED,
        next_attempt_at=now,
        message_id=make_msgid(domain=domain),
    )
    message.save(force_insert=True)
    # After commit only: a rolled-back sender sends nothing. ``robust``: a queue that cannot
    # take the task must not fail the sender's request; the row waits for the next sweep.
    transaction.on_commit(functools.partial(enqueue_delivery, message.pk), robust=True)
    return message


@transaction.atomic
def queue_email(
    *,
    kind: EmailKind,
    to: str,
    recipient_name: str,
    language: str,
    organisation: Organisation | None,
    context: Mapping[str, rendering.Value],
    masked: tuple[str, ...] = ("link",),
) -> OutboxMessage:
    """Queue one email of ``kind`` to ``to``; it is sent after the caller's transaction commits.

    ``context`` holds exactly the values the kind requires (see ``enums.REQUIRED``; e.g. an
    invitation needs ``link``, ``expires_at``, ``inviter_name``, ``role``). Values may be
    strings, lazily translated strings, integers or datetimes: they are formatted in the
    recipient's ``language``. ``recipient_name``, ``recipient_email``, ``organisation`` (the
    sending organisation's name; a sender may override it) and ``site_url`` are filled in.
    Values named in ``masked`` never appear on the outbox page, in logs or in the audit log.

    Raises ``DomainError("invalid")`` for an unusable address and ``ValueError`` when the
    values do not match the kind (a programming error of the sender).
    """
    kind = EmailKind(kind)
    _check_context(kind, context, masked)
    address = checked_address(to)
    language = template_language(language)
    template = resolve_template(kind=kind, language=language, organisation=organisation)
    values: dict[str, rendering.Value] = {
        "recipient_name": recipient_name,
        "recipient_email": address,
        "organisation": organisation.name if organisation is not None else "meterkms",
        "site_url": settings.METERKMS_PUBLIC_URL.rstrip("/"),
        **context,
    }
    return _write_outbox(
        template=template,
        to=address,
        recipient_name=recipient_name,
        language=language,
        organisation=organisation,
        values=rendering.format_values(values, language),
        masked=masked,
    )


@transaction.atomic
def send_test_email(*, template: EmailTemplate, to: str, actor: Any) -> OutboxMessage:
    """Queue ``template`` rendered with sample values to ``to``, marked as a test."""
    require_edit(actor)
    address = checked_address(to)
    organisation = template.organisation or Organisation._base_manager.get(pk=actor.organisation_id)
    values = rendering.sample_values(
        template.kind, organisation=organisation.name, language=template.language
    )
    return _write_outbox(
        template=template,
        to=address,
        recipient_name=values["recipient_name"],
        language=template.language,
        organisation=organisation,
        values=values,
        masked=("link",),
        is_test=True,
    )


@transaction.atomic
def requeue_message(
    *, message: OutboxMessage, actor: Any, channel: str | None = None
) -> OutboxMessage:
    """Send a failed (or still waiting) message again now, with a fresh count of attempts.

    Refused once its deliverable body has been removed: then the email must be sent anew
    (e.g. by resending the invitation), which also creates a fresh link.
    """
    require_edit(actor)
    locked = OutboxMessage._base_manager.select_for_update().get(pk=message.pk)
    if locked.state not in (OutboxState.FAILED, OutboxState.RETRYING):
        raise DomainError("conflict", _("Only failed or waiting messages can be sent again."))
    if not locked.payload:
        raise DomainError(
            "conflict",
            _(
                "The body of this message has been removed (it held a personal link); "
                "send the email anew instead."
            ),
        )
    previous = {"previous_state": locked.state, "attempts": locked.attempts}
    OutboxMessage._base_manager.filter(pk=locked.pk).update(
        state=OutboxState.QUEUED, attempts=0, next_attempt_at=timezone.now(), failed_at=None
    )
    record(
        Action.EMAIL_REQUEUED,
        actor=actor,
        organisation=locked.organisation,
        target=locked,
        data=previous,
        channel=channel,
    )
    transaction.on_commit(functools.partial(enqueue_delivery, locked.pk), robust=True)
    locked.refresh_from_db()
    return locked
