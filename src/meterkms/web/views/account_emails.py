"""The account emails' pages: forgot password / reset, change and confirm the email address.

Links carry their token in the path only once: the first request checks it, keeps it in the
session and redirects to a token-free address, so the token does not linger in the browser's
history or leak through the Referer header. Confirming needs a POST, so a mail scanner that
opens links cannot confirm anything. Every unusable link gets the same page, with status 200
(Django logs 4xx answers with their path, which would hold the token).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from meterkms.accounts.models import User
from meterkms.core.errors import DomainError
from meterkms.emails import account
from meterkms.emails.forms import EmailChangeForm, ForgotPasswordForm, ResetPasswordForm
from meterkms.web.views.base import apply_domain_error

SESSION_RESET = "meterkms_reset_token"
SESSION_CONFIRM = "meterkms_email_confirm_token"
#: Longer path segments are no token of ours; they are not even hashed.
MAX_TOKEN = 100


def _invalid(request: HttpRequest, *, forgot: bool) -> HttpResponse:
    return render(request, "web/account_emails/invalid_link.html", {"forgot": forgot})


@csrf_protect
@never_cache
def password_forgot_view(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link; the answer is the same for known and unknown addresses."""
    form = ForgotPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account.request_password_reset(email=form.cleaned_data["email"])
        return render(request, "web/account_emails/forgot_sent.html")
    return render(request, "web/account_emails/forgot.html", {"form": form})


@never_cache
@sensitive_variables("token")
def password_reset_link_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the email: remember the token in the session, continue without it."""
    if len(token) > MAX_TOKEN or account.check_password_reset(token) is None:
        return _invalid(request, forgot=True)
    request.session[SESSION_RESET] = token
    return redirect("web:password_reset")


@sensitive_post_parameters("new_password", "confirmation")
@csrf_protect
@never_cache
def password_reset_view(request: HttpRequest) -> HttpResponse:
    """Choose the new password (under the password policy); then log in with it."""
    token = request.session.get(SESSION_RESET, "")
    reset = account.check_password_reset(token) if token else None
    if reset is None:
        request.session.pop(SESSION_RESET, None)
        return _invalid(request, forgot=True)
    form = ResetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account.reset_password(token=token, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc, default_field="new_password")
        else:
            request.session.pop(SESSION_RESET, None)
            messages.success(request, _("Your new password is set. Log in with it."))
            return redirect("web:login")
    return render(
        request, "web/account_emails/reset.html", {"form": form, "email": reset.user.email}
    )


@sensitive_post_parameters("current_password")
@login_required
@never_cache
def email_change_view(request: HttpRequest) -> HttpResponse:
    """Request a new login address; it takes effect once the link sent to it is used."""
    user: User = request.user  # type: ignore[assignment]
    form = EmailChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not user.check_password(form.cleaned_data["current_password"]):
            form.add_error("current_password", _("The current password is wrong."))
        else:
            try:
                change = account.request_email_change(
                    user=user, new_email=form.cleaned_data["new_email"], actor=user
                )
            except DomainError as exc:
                apply_domain_error(form, exc, default_field="new_email")
            else:
                messages.success(
                    request,
                    _(
                        "We have sent a link to %(email)s. Your address changes as soon as "
                        "you confirm it there."
                    )
                    % {"email": change.new_email},
                )
                return redirect("web:email_change")
    return render(
        request,
        "web/account_emails/email_change.html",
        {"form": form, "pending": account.pending_email_change(user), "profile_user": user},
    )


@require_POST
@login_required
def email_change_cancel_view(request: HttpRequest) -> HttpResponse:
    """Withdraw a pending change of the email address."""
    account.cancel_email_change(user=request.user)  # type: ignore[arg-type]
    messages.success(request, _("The change of your email address has been cancelled."))
    return redirect("web:email_change")


@never_cache
@sensitive_variables("token")
def email_confirm_link_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the confirmation email: remember the token, continue without it."""
    if len(token) > MAX_TOKEN or account.check_email_change(token) is None:
        return _invalid(request, forgot=False)
    request.session[SESSION_CONFIRM] = token
    return redirect("web:email_confirm")


@csrf_protect
@never_cache
def email_confirm_view(request: HttpRequest) -> HttpResponse:
    """Show the change and confirm it with a button (never on a plain GET)."""
    token = request.session.get(SESSION_CONFIRM, "")
    change = account.check_email_change(token) if token else None
    if change is None:
        request.session.pop(SESSION_CONFIRM, None)
        return _invalid(request, forgot=False)
    error = ""
    if request.method == "POST":
        try:
            user = account.confirm_email_change(token=token)
        except DomainError as exc:
            error = exc.message
        else:
            request.session.pop(SESSION_CONFIRM, None)
            messages.success(
                request,
                _("Your email address is now %(email)s. Log in with it from now on.")
                % {"email": user.email},
            )
            return redirect("web:home" if request.user.is_authenticated else "web:login")
    return render(request, "web/account_emails/confirm.html", {"change": change, "error": error})
