"""Claims in the browser: claim devices (row or selection), claim requests, the bell.

"Gerät übernehmen" / "Geräte übernehmen" post here from the device list; the creator's
organisation confirms or rejects requests on the claim-request page or a batch's page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from meterkms.batches import queries, services
from meterkms.batches.filters import ClaimRequestFilter
from meterkms.batches.forms import DecisionForm
from meterkms.batches.services import ClaimOutcome
from meterkms.core.errors import DomainError
from meterkms.organisations.permissions import Perm
from meterkms.web.views.base import render_list, requires

MAX_SELECTION = 500


def claim_message(outcome: ClaimOutcome) -> str:
    """What a claim did, for the success message."""
    parts = []
    if outcome.claimed:
        parts.append(
            ngettext("%(n)d device claimed.", "%(n)d devices claimed.", outcome.claimed)
            % {"n": outcome.claimed}
        )
    if outcome.pending:
        parts.append(
            ngettext(
                "%(n)d device waits for the sender's confirmation.",
                "%(n)d devices wait for the sender's confirmation.",
                outcome.pending,
            )
            % {"n": outcome.pending}
        )
    return " ".join(parts)


def _next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@requires(Perm.DEVICES_CLAIM)
@require_POST
def device_claim_view(request: HttpRequest) -> HttpResponse:
    """Claim one device (``one``, the row action) or the selected ones (``device``)."""
    actor = request.actor  # type: ignore[attr-defined]
    values = request.POST.getlist("one") or request.POST.getlist("device")
    ids = [int(value) for value in values if value.isdigit()][:MAX_SELECTION]
    if not ids:
        messages.warning(request, _("Select devices first."))
        return redirect(_next(request, "web:devices"))
    try:
        outcome = services.claim_devices(actor=actor, device_ids=ids)
    except DomainError as exc:
        serials = ", ".join(str(d.get("serial", "")) for d in exc.details[:10] if d.get("serial"))
        messages.error(request, f"{exc.message} {serials}".strip())
    else:
        messages.success(request, claim_message(outcome))
    return redirect(_next(request, "web:devices"))


@requires(Perm.BATCHES_READ)
def claim_requests_view(request: HttpRequest) -> HttpResponse:
    """Claim requests: to decide (sender side) and sent (recipient side), with their state."""
    actor = request.actor  # type: ignore[attr-defined]
    return render_list(
        request,
        "web/batches/requests.html",
        filterset_class=ClaimRequestFilter,
        queryset=queries.claim_requests(actor),
        filterset_kwargs={"actor": actor},
        context={
            "can_confirm": actor.has(Perm.BATCHES_CONFIRM),
            "actor_path": actor.organisation_path,
        },
    )


def _decide(request: HttpRequest, request_id: int, *, confirm: bool) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    claim = get_object_or_404(queries.claim_requests(actor), pk=request_id)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    decide = services.confirm_request if confirm else services.reject_request
    try:
        decided = decide(actor=actor, request=claim, note=note)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        text = (
            ngettext(
                "Claim of %(n)d device of batch %(reference)s confirmed.",
                "Claim of %(n)d devices of batch %(reference)s confirmed.",
                decided.device_count,
            )
            if confirm
            else ngettext(
                "Claim of %(n)d device of batch %(reference)s rejected.",
                "Claim of %(n)d devices of batch %(reference)s rejected.",
                decided.device_count,
            )
        )
        messages.success(
            request, text % {"n": decided.device_count, "reference": claim.batch.reference}
        )
    return redirect(_next(request, "web:claim_requests"))


@requires(Perm.BATCHES_CONFIRM)
@require_POST
def claim_confirm_view(request: HttpRequest, request_id: int) -> HttpResponse:
    """Confirm a claim request: its devices become CLAIMED by the recipient."""
    return _decide(request, request_id, confirm=True)


@requires(Perm.BATCHES_CONFIRM)
@require_POST
def claim_reject_view(request: HttpRequest, request_id: int) -> HttpResponse:
    """Reject a claim request: its devices return to the sender, no longer offered."""
    return _decide(request, request_id, confirm=False)


def notifications(request: HttpRequest) -> dict[str, Any]:
    """Context processor: open claim requests for the bell, computed only when shown.

    One query for actors with ``batches:confirm``, none for everyone else, and none for
    pages (or htmx partials) that do not render the bell.
    """
    actor = getattr(request, "actor", None)
    if actor is None or not getattr(actor, "is_authenticated", True):
        return {}
    return {"claim_notifications": SimpleLazyObject(lambda: _Bell(actor))}


class _Bell:
    """The bell's content: up to five open claim requests and whether there are more."""

    LIMIT = 5

    def __init__(self, actor: Any) -> None:
        rows = queries.open_requests_to_decide(actor, self.LIMIT)
        self.requests = rows[: self.LIMIT]
        self.more = len(rows) > self.LIMIT

    def __bool__(self) -> bool:
        return bool(self.requests)
