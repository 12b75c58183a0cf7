"""Sending email through the outbox, and every change of email templates.

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
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core.errors import DomainError
from meterkms.emails import formatting, rendering
from meterkms.emails.defaults import sort_path
from meterkms.emails.enums import REQUIRED, EmailKind, OutboxState, placeholder_names
from meterkms.emails.models import EmailTemplate, OutboxMessage
from meterkms.emails.queries import resolve_template, template_language
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Perm

#: Longest accepted template parts (the database allows more for the bodies).
MAX_BODY = 100_000


def _checked_address(address: str) -> str:
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
    from meterkms.emails.delivery import enqueue_delivery

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
    address = _checked_address(to)
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


# --- templates ---------------------------------------------------------------------------------


def _require_edit(actor: Any) -> None:
    if not actor.has(Perm.EMAILS_EDIT):
        raise DomainError("forbidden", _("Your role may not manage email templates."))


def _require_own(template: EmailTemplate, actor: Any) -> Organisation:
    """The template's organisation; system defaults are read-only."""
    _require_edit(actor)
    if template.organisation is None:
        raise DomainError(
            "conflict",
            _("System default templates cannot be changed; create a copy and edit that."),
        )
    if not template.organisation.path.startswith(actor.organisation_path):
        # Only reachable by a caller that skipped the scoped lookup: behave as for a miss.
        raise DomainError("not_found", _("Not found."))
    return template.organisation


def template_problems(*, kind: str, **parts: str) -> list[dict[str, Any]]:
    """Problems of the template parts, one detail per problem with field, line and column."""
    allowed = placeholder_names(kind)
    details: list[dict[str, Any]] = []
    for field, text in parts.items():
        for problem in formatting.check(text, allowed):
            details.append(
                {
                    "field": field,
                    "line": problem.line,
                    "column": problem.column,
                    "message": str(problem),
                }
            )
    return details


def _validated_parts(kind: str, parts: dict[str, str]) -> dict[str, str]:
    cleaned = {
        "name": parts["name"].strip(),
        "subject": " ".join(parts["subject"].split()),
        "body_text": parts["body_text"].replace("\r\n", "\n"),
        "body_html": parts["body_html"].replace("\r\n", "\n"),
    }
    details = [
        {"field": field, "message": _("This field must not be empty.")}
        for field, value in cleaned.items()
        if not value.strip()
    ]
    limits = {"name": 200, "subject": 300, "body_text": MAX_BODY, "body_html": MAX_BODY}
    details += [
        {"field": field, "message": _("At most %(limit)s characters.") % {"limit": limit}}
        for field, limit in limits.items()
        if len(cleaned[field]) > limit
    ]
    details += template_problems(
        kind=kind,
        subject=cleaned["subject"],
        body_text=cleaned["body_text"],
        body_html=cleaned["body_html"],
    )
    if details:
        raise DomainError("invalid", _("The template cannot be saved."), details=details)
    return cleaned


@transaction.atomic
def update_template(
    *,
    template: EmailTemplate,
    actor: Any,
    name: str,
    subject: str,
    body_text: str,
    body_html: str,
    channel: str | None = None,
) -> EmailTemplate:
    """Save new name, subject and bodies; refused with positions for unknown placeholders."""
    _require_own(template, actor)
    cleaned = _validated_parts(
        template.kind,
        {"name": name, "subject": subject, "body_text": body_text, "body_html": body_html},
    )
    changed = sorted(field for field, value in cleaned.items() if getattr(template, field) != value)
    if changed:
        for field in changed:
            setattr(template, field, cleaned[field])
        template.save(update_fields=[*changed, "updated_at"])
        record(
            Action.TEMPLATE_EDITED,
            actor=actor,
            organisation=template.organisation,
            target=template,
            data={"fields": changed},
            channel=channel,
        )
    return template


@transaction.atomic
def copy_template(
    *, template: EmailTemplate, actor: Any, channel: str | None = None
) -> EmailTemplate:
    """A new inactive template with the same texts, listed right below its original.

    A copy of a system default belongs to the actor's organisation; a copy of an
    organisation's template to that organisation.
    """
    _require_edit(actor)
    organisation = template.organisation or Organisation._base_manager.get(pk=actor.organisation_id)
    copy = EmailTemplate(
        organisation=organisation,
        kind=template.kind,
        language=template.language,
        name=(_("Copy of %(name)s") % {"name": template.name})[:200],
        subject=template.subject,
        body_text=template.body_text,
        body_html=template.body_html,
        is_active=False,
        copied_from=template,
    )
    copy.save(force_insert=True)
    base = template.sort_path or sort_path(template.kind, template.language)
    # Newer copies sort first, so a fresh copy sits directly below its original.
    copy.sort_path = f"{base}{10**12 - copy.pk:012d}/"
    copy.save(update_fields=["sort_path"])
    record(
        Action.TEMPLATE_COPIED,
        actor=actor,
        organisation=organisation,
        target=copy,
        data={"original": template.pk, "original_name": template.name},
        channel=channel,
    )
    return copy


@transaction.atomic
def activate_template(
    *, template: EmailTemplate, actor: Any, channel: str | None = None
) -> EmailTemplate:
    """Make ``template`` the active one of its organisation × kind × language.

    The previously active template is deactivated in the same transaction; a partial unique
    index makes a second active template impossible even for concurrent activations.
    """
    organisation = _require_own(template, actor)
    siblings = list(
        EmailTemplate._base_manager.select_for_update()
        .filter(organisation=organisation, kind=template.kind, language=template.language)
        .order_by("pk")
    )
    if any(sibling.pk == template.pk and sibling.is_active for sibling in siblings):
        return template
    deactivated = [sibling.pk for sibling in siblings if sibling.is_active]
    try:
        with transaction.atomic():
            EmailTemplate._base_manager.filter(pk__in=deactivated).update(is_active=False)
            EmailTemplate._base_manager.filter(pk=template.pk).update(is_active=True)
    except IntegrityError:
        raise DomainError(
            "conflict", _("Another template was activated at the same time; try again.")
        ) from None
    template.is_active = True
    record(
        Action.TEMPLATE_ACTIVATED,
        actor=actor,
        organisation=organisation,
        target=template,
        data={"kind": template.kind, "language": template.language, "deactivated": deactivated},
        channel=channel,
    )
    return template


@transaction.atomic
def deactivate_template(
    *, template: EmailTemplate, actor: Any, channel: str | None = None
) -> EmailTemplate:
    """Stop using ``template``; the organisation's emails fall back to its ancestors' or the
    system default."""
    organisation = _require_own(template, actor)
    updated = EmailTemplate._base_manager.filter(pk=template.pk, is_active=True).update(
        is_active=False
    )
    template.is_active = False
    if updated:
        record(
            Action.TEMPLATE_DEACTIVATED,
            actor=actor,
            organisation=organisation,
            target=template,
            data={"kind": template.kind, "language": template.language},
            channel=channel,
        )
    return template


@transaction.atomic
def delete_template(*, template: EmailTemplate, actor: Any, channel: str | None = None) -> None:
    """Delete an organisation's template (system defaults cannot be deleted)."""
    organisation = _require_own(template, actor)
    record(
        Action.TEMPLATE_DELETED,
        actor=actor,
        organisation=organisation,
        target=template,
        data={
            "name": template.name,
            "kind": template.kind,
            "language": template.language,
            "was_active": template.is_active,
        },
        channel=channel,
    )
    EmailTemplate._base_manager.filter(pk=template.pk).delete()


@transaction.atomic
def send_test_email(*, template: EmailTemplate, to: str, actor: Any) -> OutboxMessage:
    """Queue ``template`` rendered with sample values to ``to``, marked as a test."""
    _require_edit(actor)
    address = _checked_address(to)
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
