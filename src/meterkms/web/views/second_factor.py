"""The second factor on the profile: set up the authenticator app, new recovery codes, remove.

Every action here wants a fresh login (``/reauth/``): whoever finds an unlocked browser must
not be able to bind their own phone to the account, or remove the victim's.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from meterkms.accounts import mfa, reauth
from meterkms.accounts.forms import ConfirmAppForm
from meterkms.accounts.models import User
from meterkms.core.errors import DomainError
from meterkms.web.views.base import apply_domain_error, safe_next
from meterkms.web.views.reauth import redirect_to_reauth


def redirect_to_set_up(request: HttpRequest, next_url: str | None = None) -> HttpResponse:
    """Send a user whose role needs a second factor to set it up, then back to ``next_url``
    (or here)."""
    messages.warning(
        request,
        _("Your role can download keys: set up a second factor (an authenticator app) first."),
    )
    query = urlencode({"next": next_url or request.get_full_path()})
    return redirect(reverse("web:second_factor") + "?" + query)


def _next(request: HttpRequest) -> str:
    return safe_next(request, request.POST.get("next") or request.GET.get("next"))


def _codes_page(request: HttpRequest, codes: list[str]) -> HttpResponse:
    return render(
        request,
        "web/accounts/recovery_codes.html",
        {"codes": codes, "next": _next(request) or reverse("web:profile")},
    )


@sensitive_post_parameters("code")
@login_required
@csrf_protect
@never_cache
def second_factor_view(request: HttpRequest) -> HttpResponse:
    """Status and actions of the own second factor; the set-up when there is none."""
    user: User = request.user  # type: ignore[assignment]
    if not reauth.is_fresh(request):
        return redirect_to_reauth(request)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if mfa.is_enabled(user):
        if action == "codes":
            return _codes_page(request, mfa.regenerate_recovery_codes(user=user))
        if action == "remove":
            mfa.remove_own(user=user)
            messages.success(request, _("Your second factor has been removed."))
            return redirect("web:profile")
        return render(
            request,
            "web/accounts/second_factor.html",
            {
                "since": mfa.enabled_since(user),
                "codes_left": mfa.remaining_recovery_codes(user),
                "required": mfa.required_for(user),
            },
        )
    form = ConfirmAppForm(request.POST if action == "confirm" else None)
    if action == "confirm" and form.is_valid():
        try:
            codes = mfa.confirm(user=user, code=form.cleaned_data["code"])
        except DomainError as exc:
            apply_domain_error(form, exc, default_field="code")
        else:
            request.session.cycle_key()
            reauth.mark_second_factor(request)
            messages.success(request, _("Your second factor is set up."))
            return _codes_page(request, codes)
    # A reload shows the same secret: the app may have it already.
    return render(
        request,
        "web/accounts/second_factor_setup.html",
        {
            "enrolment": mfa.pending(user) or mfa.begin(user),
            "form": form,
            "next": _next(request),
            "required": mfa.required_for(user),
        },
    )
