"""The "Einladungen" pages: list, add → review with email preview → send, edit, resend,
revoke; and the public page where the invitee accepts.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from meterkms.accounts import services as account_services
from meterkms.core.errors import DomainError
from meterkms.organisations import invitations, mail
from meterkms.organisations.filters import InvitationFilter
from meterkms.organisations.forms import AcceptInvitationForm, InvitationForm
from meterkms.organisations.models import Invitation
from meterkms.organisations.permissions import Perm
from meterkms.organisations.queries import invitations_visible_to, organisations_visible_to
from meterkms.web.views.base import apply_domain_error, render_list, requires


def _form(request: HttpRequest, data: object = None, **kwargs: object) -> InvitationForm:
    actor = request.actor  # type: ignore[attr-defined]
    return InvitationForm(
        data, actor=actor, organisations=organisations_visible_to(actor), **kwargs
    )


def _scoped(request: HttpRequest, invitation_id: int) -> Invitation:
    return get_object_or_404(invitations_visible_to(request.actor), pk=invitation_id)  # type: ignore[attr-defined]


@requires(Perm.USERS_INVITE)
def invitations_view(request: HttpRequest) -> HttpResponse:
    """Invitations into the actor's subtree with their state (empty: "No user invites")."""
    actor = request.actor  # type: ignore[attr-defined]
    return render_list(
        request,
        "web/invitations/list.html",
        filterset_class=InvitationFilter,
        queryset=invitations_visible_to(actor),
        filterset_kwargs={"actor": actor},
    )


@requires(Perm.USERS_INVITE)
@never_cache
def invitation_add_view(request: HttpRequest) -> HttpResponse:
    """Step 1 "Einladung hinzufügen"; a valid form goes on to the review with the preview."""
    actor = request.actor  # type: ignore[attr-defined]
    if request.method != "POST":
        form = _form(request, initial={"organisation": actor.organisation_id, "role": "VIEWER"})
        return render(request, "web/invitations/form.html", {"form": form, "adding": True})
    form = _form(request, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            invitations.check_invitation(actor=actor, **data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            return _review(request, form)
    return render(request, "web/invitations/form.html", {"form": form, "adding": True})


def _review(request: HttpRequest, form: InvitationForm) -> HttpResponse:
    data = form.cleaned_data
    preview = mail.preview(
        recipient_name=data["name"],
        email=data["email"],
        organisation=data["organisation"],
        role=data["role"],
        language=data["language"],
        inviter_name=request.actor.name,  # type: ignore[attr-defined]
    )
    return render(request, "web/invitations/review.html", {"form": form, "preview": preview})


@requires(Perm.USERS_INVITE)
@require_POST
def invitation_send_view(request: HttpRequest) -> HttpResponse:
    """ "Versenden": create the invitation and send its email (after commit)."""
    actor = request.actor  # type: ignore[attr-defined]
    form = _form(request, request.POST)
    if form.is_valid():
        try:
            invitation = invitations.invite_user(actor=actor, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _sent_message(invitation))
            return redirect("web:invitations")
    return render(request, "web/invitations/form.html", {"form": form, "adding": True})


def _sent_message(invitation: Invitation) -> str:
    until = formats.date_format(timezone.localtime(invitation.expires_at), "DATETIME_FORMAT")
    return _("The invitation has been sent to %(email)s. The link works until %(until)s.") % {
        "email": invitation.email,
        "until": until,
    }


@requires(Perm.USERS_INVITE)
@never_cache
def invitation_edit_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """Edit an open invitation; a changed address gets a new link (the old one dies)."""
    actor = request.actor  # type: ignore[attr-defined]
    invitation = _scoped(request, invitation_id)
    initial = {
        "name": invitation.name,
        "email": invitation.email,
        "organisation": invitation.organisation_id,
        "role": invitation.role,
        "language": invitation.language,
    }
    form = _form(request, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            invitations.update_invitation(actor=actor, invitation=invitation, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("The invitation has been saved."))
            return redirect("web:invitations")
    return render(
        request,
        "web/invitations/form.html",
        {"form": form, "adding": False, "invitation": invitation},
    )


@requires(Perm.USERS_INVITE)
@require_POST
def invitation_resend_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """Send a new link; the previous one stops working."""
    invitation = _scoped(request, invitation_id)
    try:
        invitation = invitations.resend_invitation(actor=request.actor, invitation=invitation)  # type: ignore[attr-defined]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _sent_message(invitation))
    return redirect("web:invitations")


@requires(Perm.USERS_INVITE)
@require_POST
def invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """Withdraw an invitation; its link stops working at once."""
    invitation = _scoped(request, invitation_id)
    try:
        invitations.revoke_invitation(actor=request.actor, invitation=invitation)  # type: ignore[attr-defined]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The invitation has been revoked."))
    return redirect("web:invitations")


def _invalid_link(request: HttpRequest) -> HttpResponse:
    # One page and one status for every link that does not work, whatever the reason.
    return render(request, "web/invitations/invalid.html", status=404)


@sensitive_variables("token")
@sensitive_post_parameters("password", "confirmation")
@csrf_protect
@never_cache
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the invitee chooses a password and is logged in as the new user."""
    invitation = invitations.live_invitation(token)
    if invitation is None:
        return _invalid_link(request)
    form = AcceptInvitationForm(request.POST or None, initial={"name": invitation.name})
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept_invitation(
                token=token,
                password=form.cleaned_data["password"],
                confirmation=form.cleaned_data["confirmation"],
                name=form.cleaned_data["name"],
            )
        except invitations.InvalidInvitation:
            return _invalid_link(request)
        except DomainError as exc:
            apply_domain_error(form, exc, default_field="password")
        else:
            account_services.log_in(request, user)
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("web:home")
    return render(request, "web/invitations/accept.html", {"form": form, "invitation": invitation})
