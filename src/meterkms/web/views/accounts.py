"""Login, logout, profile, password change and language of the logged-in user."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from meterkms.accounts import mfa, services
from meterkms.accounts.forms import (
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    SecondFactorForm,
)
from meterkms.accounts.models import Language, User
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.web.views.base import apply_domain_error, safe_next

LOGIN_FAILED = gettext_lazy("The email address or the password is wrong.")


def _known_user(email: str) -> User | None:
    with tenancy.crossing("a failed login is audited in the account's organisation"):
        return User.objects.select_related("organisation").filter(email__iexact=email).first()


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    """Email + password; the throttle (axes) answers before the hasher when locked."""
    if request.user.is_authenticated:
        return redirect("web:home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["username"]
        user = authenticate(request, username=email, password=form.cleaned_data["password"])
        if user is not None:
            target = safe_next(request, request.POST.get("next") or request.GET.get("next"))
            if mfa.is_enabled(user):
                services.start_second_step(request, user, target)
                return redirect("web:login_code")
            services.log_in(request, user)
            return redirect(target or "web:home")
        services.record_failed_login(email=email, user=_known_user(email))
        form.add_error(None, LOGIN_FAILED)
    return render(request, "web/accounts/login.html", {"form": form}, status=200)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_code_view(request: HttpRequest) -> HttpResponse:
    """The second step of a login: a code of the authenticator app or a recovery code."""
    if request.user.is_authenticated:
        return redirect("web:home")
    pending = services.pending_login(request)
    if pending is None:
        messages.info(request, _("Log in again: the login was not started or took too long."))
        return redirect("web:login")
    user, target = pending
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = services.finish_login(request, user, form.cleaned_data["code"])
        if result is mfa.Result.OK:
            return redirect(safe_next(request, target) or "web:home")
        form.add_error("code", mfa.wrong_code_message(result))
    return render(request, "web/accounts/login_code.html", {"form": form})


def lockout_response(
    request: HttpRequest, credentials: dict | None = None, *args: object, **kwargs: object
) -> HttpResponse:
    """What a throttled login sees: the same page for every account, known or not."""
    email = (credentials or {}).get("username", "") if isinstance(credentials, dict) else ""
    services.record_lockout(email=email, user=_known_user(email) if email else None)
    form = LoginForm(request.POST or None)
    form.add_error(
        None,
        _("Too many failed logins. Wait a few minutes, or reset your password."),
    )
    return render(request, "web/accounts/login.html", {"form": form}, status=429)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """End the session (POST only, so a link cannot log anyone out)."""
    services.log_out(request)
    return redirect("web:login")


@login_required
@never_cache
def profile_view(request: HttpRequest) -> HttpResponse:
    """Name, language and CSV preferences; email, organisation and role are read-only."""
    user: User = request.user  # type: ignore[assignment]
    initial = {
        "name": user.name,
        "language": user.language,
        "csv_delimiter": user.csv_delimiter,
        "csv_thousands_separator": user.csv_thousands_separator,
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(user=user, actor=user, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Your profile has been saved."))
            return redirect("web:profile")
    return render(
        request,
        "web/accounts/profile.html",
        {
            "form": form,
            "password_form": PasswordChangeForm(),
            "profile_user": user,
            "mfa_since": mfa.enabled_since(user),
            "mfa_required": mfa.required_for(user),
        },
    )


@sensitive_post_parameters("current_password", "new_password", "confirmation")
@login_required
@never_cache
def password_change_view(request: HttpRequest) -> HttpResponse:
    """Change the own password under the policy; forced after an administrator set it."""
    user: User = request.user  # type: ignore[assignment]
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not user.check_password(form.cleaned_data["current_password"]):
            form.add_error("current_password", _("The current password is wrong."))
        else:
            try:
                services.change_own_password(
                    request=request,
                    user=user,
                    new_password=form.cleaned_data["new_password"],
                    confirmation=form.cleaned_data["confirmation"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc, default_field="new_password")
            else:
                messages.success(request, _("Your password has been changed."))
                return redirect("web:profile")
    return render(
        request,
        "web/accounts/password_change.html",
        {"password_form": form, "forced": user.must_change_password},
    )


@require_POST
@login_required
def language_view(request: HttpRequest) -> HttpResponse:
    """Switch the UI language; stored on the user so it follows them to every device."""
    user: User = request.user  # type: ignore[assignment]
    language = request.POST.get("language", "")
    if language in Language.values:
        services.update_profile(user=user, actor=user, language=language)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    return redirect(target or "web:home")
