"""The "E-Mail" section of the Admin menu: templates (list, edit, preview, test, copy,
activate, delete) and the outbox (state, attempts, last error, send again)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST

from meterkms.core.errors import DomainError
from meterkms.emails import rendering, services
from meterkms.emails.enums import PENDING_STATES, OutboxState, placeholders
from meterkms.emails.filters import EmailTemplateFilter, OutboxFilter
from meterkms.emails.forms import TemplateForm, TestEmailForm
from meterkms.emails.models import EmailTemplate, OutboxMessage
from meterkms.emails.queries import contested_in_use
from meterkms.organisations.permissions import Perm
from meterkms.web.views.base import apply_domain_error, render_list, requires

#: The policy of an email's HTML shown inside a page: no scripts, no forms, no outside
#: requests (no tracking pixels), inline styles allowed; framed only by our own pages. The
#: frame itself is also sandboxed, so organisation-written HTML can never act as the viewer.
EMAIL_HTML_CSP: dict[str, Any] = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "img-src": ["data:"],
    "form-action": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.SELF],
    "sandbox": True,
}


def _template(request: HttpRequest, template_id: int) -> EmailTemplate:
    queryset = EmailTemplate.objects.visible_to(request.actor).select_related("organisation")  # type: ignore[attr-defined]
    return get_object_or_404(queryset, pk=template_id)


def _message(request: HttpRequest, message_id: int) -> OutboxMessage:
    queryset = OutboxMessage.objects.visible_to(request.actor).select_related("organisation")  # type: ignore[attr-defined]
    return get_object_or_404(queryset, pk=message_id)


def _back_to_list(template: EmailTemplate | None = None) -> HttpResponse:
    url = reverse("web:email_templates")
    return redirect(f"{url}#template-{template.pk}" if template is not None else url)


def _organisation_name(request: HttpRequest, template: EmailTemplate) -> str:
    organisation = template.organisation or request.user.organisation  # type: ignore[attr-defined]
    return str(organisation.name)


@requires(Perm.EMAILS_EDIT)
def template_list_view(request: HttpRequest) -> HttpResponse:
    """The templates of the actor's tree and the system defaults, with filters."""
    actor = request.actor  # type: ignore[attr-defined]
    visible = EmailTemplate.objects.visible_to(actor).select_related("organisation")
    return render_list(
        request,
        "web/emails/templates.html",
        filterset_class=EmailTemplateFilter,
        filterset_kwargs={"actor": actor},
        queryset=visible,
        context={"in_use": contested_in_use(request.user.organisation, visible)},  # type: ignore[attr-defined]
    )


@requires(Perm.EMAILS_EDIT)
@never_cache
def template_edit_view(request: HttpRequest, template_id: int) -> HttpResponse:
    """Edit name, subject and bodies; unknown placeholders are refused with their position."""
    template = _template(request, template_id)
    if template.is_system:
        messages.error(request, _("System default templates cannot be changed; create a copy."))
        return _back_to_list(template)
    initial = {
        field: getattr(template, field) for field in ("name", "subject", "body_text", "body_html")
    }
    form = TemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_template(template=template, actor=request.actor, **form.cleaned_data)  # type: ignore[attr-defined]
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(
                request, _("The template “%(name)s” has been saved.") % {"name": template.name}
            )
            return _back_to_list(template)
    return render(
        request,
        "web/emails/edit.html",
        {"template": template, "form": form, "placeholders": placeholders(template.kind)},
    )


@requires(Perm.EMAILS_EDIT)
def template_preview_view(request: HttpRequest, template_id: int) -> HttpResponse:
    """The template rendered with sample values: subject, plain text and the HTML in a frame."""
    template = _template(request, template_id)
    values = rendering.sample_values(
        template.kind,
        organisation=_organisation_name(request, template),
        language=template.language,
    )
    return render(
        request,
        "web/emails/preview.html",
        {
            "template": template,
            "rendered": rendering.render(template, values),
            "values": values,
            "placeholders": placeholders(template.kind),
        },
    )


@requires(Perm.EMAILS_EDIT)
@csp_override(EMAIL_HTML_CSP)
@xframe_options_sameorigin
def template_preview_html_view(request: HttpRequest, template_id: int) -> HttpResponse:
    """The HTML body rendered with sample values, for the sandboxed frame of the preview."""
    template = _template(request, template_id)
    values = rendering.sample_values(
        template.kind,
        organisation=_organisation_name(request, template),
        language=template.language,
    )
    return HttpResponse(rendering.render(template, values).html, content_type="text/html")


@requires(Perm.EMAILS_EDIT)
@never_cache
def template_test_view(request: HttpRequest, template_id: int) -> HttpResponse:
    """Send the template with sample values to an address (recipient → confirm)."""
    template = _template(request, template_id)
    form = TestEmailForm(request.POST or None, initial={"to": request.user.email})  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            message = services.send_test_email(
                template=template,
                to=form.cleaned_data["to"],
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("The test email to %(to)s is on its way; the outbox shows its state.")
                % {"to": message.to_email},
            )
            return _back_to_list(template)
    return render(request, "web/emails/test.html", {"template": template, "form": form})


def _template_action(request: HttpRequest, template_id: int, action: str) -> HttpResponse:
    template = _template(request, template_id)
    actor = request.actor  # type: ignore[attr-defined]
    try:
        if action == "copy":
            copy = services.copy_template(template=template, actor=actor)
            messages.success(
                request, _("The copy “%(name)s” has been created.") % {"name": copy.name}
            )
            return _back_to_list(copy)
        if action == "activate":
            services.activate_template(template=template, actor=actor)
            messages.success(request, _("“%(name)s” is now active.") % {"name": template.name})
        elif action == "deactivate":
            services.deactivate_template(template=template, actor=actor)
            messages.success(
                request,
                _(
                    "“%(name)s” is inactive now; the parent organisation's or the system default "
                    "template is used instead."
                )
                % {"name": template.name},
            )
        else:
            services.delete_template(template=template, actor=actor)
            messages.success(
                request, _("The template “%(name)s” has been deleted.") % {"name": template.name}
            )
            return _back_to_list()
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back_to_list(template)


@requires(Perm.EMAILS_EDIT)
@require_POST
def template_copy_view(request: HttpRequest, template_id: int) -> HttpResponse:
    """Create an inactive copy right below the original."""
    return _template_action(request, template_id, "copy")


@requires(Perm.EMAILS_EDIT)
@require_POST
def template_activate_view(request: HttpRequest, template_id: int) -> HttpResponse:
    """Make the template the active one of its organisation × type × language."""
    return _template_action(request, template_id, "activate")


@requires(Perm.EMAILS_EDIT)
@require_POST
def template_deactivate_view(request: HttpRequest, template_id: int) -> HttpResponse:
    """Stop using the template (fall back to the parent's or the system default)."""
    return _template_action(request, template_id, "deactivate")


@requires(Perm.EMAILS_EDIT)
@require_POST
def template_delete_view(request: HttpRequest, template_id: int) -> HttpResponse:
    """Delete an organisation's template after the confirmation dialog."""
    return _template_action(request, template_id, "delete")


@requires(Perm.EMAILS_READ)
def outbox_view(request: HttpRequest) -> HttpResponse:
    """Every email sent on behalf of the actor's tree: state, attempts, last error."""
    actor = request.actor  # type: ignore[attr-defined]
    return render_list(
        request,
        "web/emails/outbox.html",
        filterset_class=OutboxFilter,
        queryset=OutboxMessage.objects.visible_to(actor).select_related("organisation"),
        context={"pending_states": PENDING_STATES},
    )


@requires(Perm.EMAILS_READ)
def outbox_detail_view(request: HttpRequest, message_id: int) -> HttpResponse:
    """One message with its masked bodies (links with tokens never show)."""
    message = _message(request, message_id)
    return render(
        request,
        "web/emails/outbox_detail.html",
        {
            "message": message,
            "may_retry": request.actor.has(Perm.EMAILS_EDIT)  # type: ignore[attr-defined]
            and message.state in (OutboxState.FAILED, OutboxState.RETRYING),
        },
    )


@requires(Perm.EMAILS_READ)
@csp_override(EMAIL_HTML_CSP)
@xframe_options_sameorigin
def outbox_html_view(request: HttpRequest, message_id: int) -> HttpResponse:
    """The masked HTML body of a message, for the sandboxed frame of the detail page."""
    message = _message(request, message_id)
    return HttpResponse(message.body_html, content_type="text/html")


@requires(Perm.EMAILS_EDIT)
@require_POST
def outbox_retry_view(request: HttpRequest, message_id: int) -> HttpResponse:
    """Send a failed or waiting message again now."""
    message = _message(request, message_id)
    try:
        services.requeue_message(message=message, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The email to %(to)s is being sent again.") % {"to": message.to_email}
        )
    return redirect("web:email_outbox_detail", message_id=message.pk)
