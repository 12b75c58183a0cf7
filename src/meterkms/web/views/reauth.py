"""Re-authentication: enter the password again before keys leave (``/reauth/?next=…``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from meterkms.accounts import reauth


class ReauthForm(forms.Form):
    """The current password."""

    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


def _safe_next(request: HttpRequest, target: str) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=True
    ):
        return target
    return reverse("web:home")


def reauth_url(next_url: str) -> str:
    """The re-authentication page, returning to ``next_url`` afterwards."""
    return reverse("web:reauth") + "?" + urlencode({"next": next_url})


def redirect_to_reauth(request: HttpRequest, next_url: str | None = None) -> HttpResponse:
    """Send the user to enter the password again, then back to ``next_url`` (or here)."""
    return redirect(reauth_url(next_url or request.get_full_path()))


@sensitive_post_parameters("password")
@login_required
@csrf_protect
@never_cache
def reauth_view(request: HttpRequest) -> HttpResponse:
    """Ask for the password; on success the session counts as fresh for five minutes."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    form = ReauthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if reauth.reauthenticate(
            request=request, user=request.user, password=form.cleaned_data["password"]
        ):
            return redirect(_safe_next(request, target))
        form.add_error("password", _("The password is wrong."))
    return render(
        request,
        "web/accounts/reauth.html",
        {"form": form, "next": _safe_next(request, target), "minutes": reauth.FRESH_SECONDS // 60},
    )
