"""Re-authentication: enter the password again before keys leave (``/reauth/?next=…``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from meterkms.accounts import mfa, reauth
from meterkms.accounts.forms import code_field
from meterkms.web.views.base import safe_next


class ReauthForm(forms.Form):
    """The current password."""

    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class ReauthWithCodeForm(ReauthForm):
    """The current password and a code of the second factor."""

    code = code_field()


def _safe_next(request: HttpRequest, target: str) -> str:
    return safe_next(request, target) or reverse("web:home")


def reauth_url(next_url: str) -> str:
    """The re-authentication page, returning to ``next_url`` afterwards."""
    return reverse("web:reauth") + "?" + urlencode({"next": next_url})


def redirect_to_reauth(request: HttpRequest, next_url: str | None = None) -> HttpResponse:
    """Send the user to enter the password again, then back to ``next_url`` (or here)."""
    return redirect(reauth_url(next_url or request.get_full_path()))


@sensitive_post_parameters("password", "code")
@login_required
@csrf_protect
@never_cache
def reauth_view(request: HttpRequest) -> HttpResponse:
    """Ask for the password (and the second factor's code); on success the session counts
    as fresh for five minutes."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    form_class = ReauthWithCodeForm if mfa.is_enabled(request.user) else ReauthForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = reauth.reauthenticate(
            request=request,
            user=request.user,
            password=form.cleaned_data["password"],
            code=form.cleaned_data.get("code", ""),
        )
        if outcome is reauth.Outcome.OK:
            return redirect(_safe_next(request, target))
        if outcome is reauth.Outcome.WRONG_PASSWORD:
            form.add_error("password", _("The password is wrong."))
        else:
            locked = outcome is reauth.Outcome.LOCKED
            form.add_error(
                "code", mfa.wrong_code_message(mfa.Result.LOCKED if locked else mfa.Result.WRONG)
            )
    return render(
        request,
        "web/accounts/reauth.html",
        {"form": form, "next": _safe_next(request, target), "minutes": reauth.FRESH_SECONDS // 60},
    )
