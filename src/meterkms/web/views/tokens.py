"""The API token page: list, create (the token is shown once), revoke."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from meterkms.accounts import reauth, services
from meterkms.accounts.forms import TokenForm
from meterkms.accounts.models import ApiToken
from meterkms.core.errors import DomainError
from meterkms.organisations.permissions import Perm
from meterkms.web.views.base import apply_domain_error, requires
from meterkms.web.views.reauth import reauth_url


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _step_up_for(request: HttpRequest, scopes: list[str]) -> str:
    """Where the user must go before creating a token with ``scopes`` ("": nowhere)."""
    if not reauth.grants_keys(request.user, scopes) or reauth.may_let_keys_leave(request):
        return ""
    if reauth.needs_second_factor(request):
        return reverse("web:second_factor") + "?" + urlencode({"next": request.path})
    return reauth_url(request.path)


@requires(Perm.TOKENS_MANAGE)
@never_cache
def tokens_view(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; POST creates one and shows it this once."""
    actor = request.actor  # type: ignore[attr-defined]
    form = TokenForm(request.POST or None, granted=actor.permissions)
    created_token = None
    step_up = ""
    if request.method == "POST" and form.is_valid():
        step_up = _step_up_for(request, form.cleaned_data["scopes"])
        if step_up:
            form.add_error(
                "scopes",
                _(
                    "A token that may download keys needs a second factor and a fresh login: "
                    "confirm it first, then create the token again."
                ),
            )
    if request.method == "POST" and form.is_valid():
        try:
            _row, created_token = services.create_api_token(
                user=actor,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=_aware(form.cleaned_data["expires_at"]),
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            form = TokenForm(granted=actor.permissions)
    tokens = ApiToken.objects.visible_to(actor)
    return render(
        request,
        "web/accounts/tokens.html",
        {"form": form, "tokens": tokens, "created_token": created_token, "step_up": step_up},
    )


@requires(Perm.TOKENS_MANAGE)
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the user's tokens."""
    token = get_object_or_404(ApiToken.objects.visible_to(request.actor), pk=token_id)  # type: ignore[attr-defined]
    services.revoke_api_token(token=token, actor=request.actor)  # type: ignore[attr-defined]
    messages.success(request, _("The token has been revoked."))
    return redirect("web:tokens")
