"""Every change of email templates: edit, copy, activate, deactivate, delete.

System defaults (templates without organisation) are read-only; organisations copy them.
Each change is audited in its own transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core.errors import DomainError
from meterkms.emails import formatting
from meterkms.emails.defaults import sort_path
from meterkms.emails.enums import placeholder_names
from meterkms.emails.models import EmailTemplate
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Perm

#: Longest accepted template bodies.
MAX_BODY = 100_000


def require_edit(actor: Any) -> None:
    """DomainError("forbidden") unless the actor may manage email templates."""
    if not actor.has(Perm.EMAILS_EDIT):
        raise DomainError("forbidden", _("Your role may not manage email templates."))


def _require_own(template: EmailTemplate, actor: Any) -> Organisation:
    """The template's organisation; system defaults are read-only."""
    require_edit(actor)
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
    require_edit(actor)
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
    # Deep chains of copies of copies stop nesting rather than outgrow the column.
    base = (template.sort_path or sort_path(template.kind, template.language))[:980]
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
