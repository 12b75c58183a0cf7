"""``/api/v1/emails``: templates (list, read, edit, copy, activate, deactivate, delete,
preview, test email), their placeholders, and the outbox."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from meterkms.api import filtering
from meterkms.api.errors import ERRORS, ErrorOut
from meterkms.api.permissions import require
from meterkms.api.schemas.emails import (
    KindOut,
    OutboxOut,
    OutboxPage,
    PreviewOut,
    TemplateIn,
    TemplateOut,
    TemplatePage,
    TestEmailIn,
)
from meterkms.core.pagination import paginate
from meterkms.emails import rendering, services
from meterkms.emails.enums import AUTOMATIC, EmailKind, placeholders
from meterkms.emails.filters import EmailTemplateFilter, OutboxFilter
from meterkms.emails.models import EmailTemplate, OutboxMessage
from meterkms.emails.queries import effective_template_ids
from meterkms.organisations.permissions import Perm

router = Router(tags=["emails"])

TemplateQuery = filtering.query_schema(EmailTemplateFilter, "EmailTemplateQuery")
OutboxQuery = filtering.query_schema(OutboxFilter, "OutboxQuery")
#: Answers of operations that a rule can refuse (e.g. changing a system default).
CHANGE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


def _page(queryset: Any, params: Any) -> dict[str, Any]:
    page = paginate(queryset, limit=params.limit, offset=params.offset)
    return {
        "count": page.total,
        "count_exact": page.exact,
        "offset": page.offset,
        "limit": page.limit,
        "items": page.items,
    }


def _template(request: HttpRequest, template_id: int) -> EmailTemplate:
    queryset = EmailTemplate.objects.visible_to(request.auth).select_related("organisation")
    return get_object_or_404(queryset, pk=template_id)


def _with_use(request: HttpRequest, template: EmailTemplate) -> EmailTemplate:
    template.in_use = template.pk in effective_template_ids(request.auth.organisation)  # type: ignore[attr-defined]
    return template


@router.get("/templates", response={200: TemplatePage, **ERRORS}, summary="List email templates")
def list_templates(request: HttpRequest, params: Query[TemplateQuery]) -> dict[str, Any]:  # type: ignore[valid-type]
    require(request.auth, Perm.EMAILS_EDIT)
    queryset = filtering.apply(
        EmailTemplateFilter,
        params,
        EmailTemplate.objects.visible_to(request.auth).select_related("organisation"),
        actor=request.auth,
    )
    page = _page(queryset, params)
    in_use = effective_template_ids(request.auth.organisation)
    for template in page["items"]:
        template.in_use = template.pk in in_use
    return page


@router.get(
    "/templates/{template_id}",
    response={200: TemplateOut, **ERRORS},
    summary="Read an email template",
)
def get_template(request: HttpRequest, template_id: int) -> EmailTemplate:
    require(request.auth, Perm.EMAILS_EDIT)
    return _with_use(request, _template(request, template_id))


@router.patch(
    "/templates/{template_id}",
    response={200: TemplateOut, **CHANGE_ERRORS},
    summary="Edit an organisation's template",
    description="Unknown placeholders and broken syntax answer 422 with field, line and "
    "column per problem. System defaults answer 409.",
)
def update_template(request: HttpRequest, template_id: int, payload: TemplateIn) -> EmailTemplate:
    require(request.auth, Perm.EMAILS_EDIT)
    template = _template(request, template_id)
    changes = payload.model_dump(exclude_none=True)
    parts = {
        field: changes.get(field, getattr(template, field))
        for field in ("name", "subject", "body_text", "body_html")
    }
    services.update_template(template=template, actor=request.auth, channel="api", **parts)
    return _with_use(request, template)


@router.post(
    "/templates/{template_id}/copy",
    response={201: TemplateOut, **CHANGE_ERRORS},
    summary="Copy a template (the copy starts inactive)",
)
def copy_template(request: HttpRequest, template_id: int) -> Status:
    require(request.auth, Perm.EMAILS_EDIT)
    copy = services.copy_template(
        template=_template(request, template_id), actor=request.auth, channel="api"
    )
    return Status(201, _with_use(request, copy))


@router.post(
    "/templates/{template_id}/activate",
    response={200: TemplateOut, **CHANGE_ERRORS},
    summary="Activate a template (the other of its organisation, type and language stops)",
)
def activate_template(request: HttpRequest, template_id: int) -> EmailTemplate:
    require(request.auth, Perm.EMAILS_EDIT)
    template = _template(request, template_id)
    services.activate_template(template=template, actor=request.auth, channel="api")
    return _with_use(request, template)


@router.post(
    "/templates/{template_id}/deactivate",
    response={200: TemplateOut, **CHANGE_ERRORS},
    summary="Deactivate a template (emails fall back to the parent's or the system default)",
)
def deactivate_template(request: HttpRequest, template_id: int) -> EmailTemplate:
    require(request.auth, Perm.EMAILS_EDIT)
    template = _template(request, template_id)
    services.deactivate_template(template=template, actor=request.auth, channel="api")
    return _with_use(request, template)


@router.delete(
    "/templates/{template_id}",
    response={204: None, **CHANGE_ERRORS},
    summary="Delete an organisation's template",
)
def delete_template(request: HttpRequest, template_id: int) -> Status:
    require(request.auth, Perm.EMAILS_EDIT)
    services.delete_template(
        template=_template(request, template_id), actor=request.auth, channel="api"
    )
    return Status(204, None)


@router.get(
    "/templates/{template_id}/preview",
    response={200: PreviewOut, **ERRORS},
    summary="Render a template with sample values",
)
def preview_template(request: HttpRequest, template_id: int) -> dict[str, Any]:
    require(request.auth, Perm.EMAILS_EDIT)
    template = _template(request, template_id)
    organisation = template.organisation or request.auth.organisation
    values = rendering.sample_values(
        template.kind, organisation=organisation.name, language=template.language
    )
    rendered = rendering.render(template, values)
    return {
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "values": values,
    }


@router.post(
    "/templates/{template_id}/test",
    response={202: OutboxOut, **ERRORS},
    summary="Send a test email of a template (sample values, subject starts with [Test])",
)
def send_test_email(request: HttpRequest, template_id: int, payload: TestEmailIn) -> Status:
    require(request.auth, Perm.EMAILS_EDIT)
    message = services.send_test_email(
        template=_template(request, template_id), to=payload.to, actor=request.auth
    )
    return Status(202, message)


@router.get(
    "/placeholders",
    response={200: list[KindOut], **ERRORS},
    summary="The placeholders of every kind of email",
)
def list_placeholders(request: HttpRequest) -> list[dict[str, Any]]:
    require(request.auth, Perm.EMAILS_EDIT)
    automatic = {placeholder.name for placeholder in AUTOMATIC}
    return [
        {
            "kind": kind.value,
            "label": str(kind.label),
            "placeholders": [
                {
                    "name": placeholder.name,
                    "description": str(placeholder.description),
                    "automatic": placeholder.name in automatic,
                }
                for placeholder in placeholders(kind)
            ],
        }
        for kind in EmailKind
    ]


@router.get("/outbox", response={200: OutboxPage, **ERRORS}, summary="List the outbox")
def list_outbox(request: HttpRequest, params: Query[OutboxQuery]) -> dict[str, Any]:  # type: ignore[valid-type]
    require(request.auth, Perm.EMAILS_READ)
    queryset = filtering.apply(
        OutboxFilter,
        params,
        OutboxMessage.objects.visible_to(request.auth).select_related("organisation"),
    )
    return _page(queryset, params)


def _message(request: HttpRequest, message_id: int) -> OutboxMessage:
    queryset = OutboxMessage.objects.visible_to(request.auth).select_related("organisation")
    return get_object_or_404(queryset, pk=message_id)


@router.get(
    "/outbox/{message_id}",
    response={200: OutboxOut, **ERRORS},
    summary="Read an outbox message (personal links masked)",
)
def get_outbox_message(request: HttpRequest, message_id: int) -> OutboxMessage:
    require(request.auth, Perm.EMAILS_READ)
    return _message(request, message_id)


@router.post(
    "/outbox/{message_id}/retry",
    response={200: OutboxOut, **CHANGE_ERRORS},
    summary="Send a failed or waiting message again now",
)
def retry_outbox_message(request: HttpRequest, message_id: int) -> OutboxMessage:
    require(request.auth, Perm.EMAILS_EDIT)
    return services.requeue_message(
        message=_message(request, message_id), actor=request.auth, channel="api"
    )
