"""Shipment batches in the browser: list, detail, create (also from a selection), claim.

"Versandlosreferenz" (the list), "Erstellen von Versandlosreferenz" (the form) and
"Versandlos übernehmen" (batches waiting for the actor's organisation). Every page starts
from the actor's scope; a foreign batch is a 404 like a missing one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from meterkms.batches import queries, services
from meterkms.batches.filters import BatchFilter
from meterkms.batches.forms import BatchForm
from meterkms.batches.models import Batch, ClaimRequest
from meterkms.core.errors import DomainError
from meterkms.core.pagination import paginate
from meterkms.devices.queries import catalogue_rows
from meterkms.organisations.permissions import Perm
from meterkms.web.views.base import apply_domain_error, render_list, requires
from meterkms.web.views.claims import claim_message

MAX_SELECTION = 500


@requires(Perm.BATCHES_READ)
def batch_list_view(request: HttpRequest) -> HttpResponse:
    """Reference, label, recipient, confirmation state, devices, created at/by; filters."""
    actor = request.actor  # type: ignore[attr-defined]
    return render_list(
        request,
        "web/batches/list.html",
        filterset_class=BatchFilter,
        queryset=queries.batch_rows(actor),
        filterset_kwargs={"actor": actor},
        context={"can_create": actor.has(Perm.BATCHES_CREATE)},
    )


@requires(Perm.DEVICES_CLAIM)
def batch_offers_view(request: HttpRequest) -> HttpResponse:
    """ "Versandlos übernehmen": the open batches addressed to the actor's organisation."""
    actor = request.actor  # type: ignore[attr-defined]
    return render_list(
        request,
        "web/batches/offers.html",
        filterset_class=BatchFilter,
        queryset=queries.offered_batches(actor),
        filterset_kwargs={"actor": actor},
    )


@requires(Perm.BATCHES_READ)
def batch_detail_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The batch's facts, its devices (those the actor sees), claim requests and actions."""
    actor = request.actor  # type: ignore[attr-defined]
    batch = get_object_or_404(queries.batch_rows(actor), pk=batch_id)
    devices = catalogue_rows(actor).filter(batch=batch)
    page = paginate(devices, limit=request.GET.get("limit"), offset=request.GET.get("offset"))
    requests = list(queries.claim_requests(actor).filter(batch=batch))
    recipient_side = queries.is_recipient(actor, batch)
    sender_side = queries.is_sender(actor, batch)
    claimable = 0
    if recipient_side and actor.has(Perm.DEVICES_CLAIM) and batch.is_open:
        claimable = (
            Batch._base_manager.filter(pk=batch.pk)
            .annotate(n=queries.claimable_count())
            .values_list("n", flat=True)
            .first()
            or 0
        )
    open_request = next((r for r in requests if r.state == ClaimRequest.State.OPEN), None)
    return render(
        request,
        "web/batches/detail.html",
        {
            "batch": batch,
            "page": page,
            "query": "",
            "requests": requests,
            "claimable": claimable,
            "open_request": open_request,
            "can_decide": sender_side and actor.has(Perm.BATCHES_CONFIRM),
            "show_sender": sender_side,
        },
    )


def _render_form(request: HttpRequest, form: BatchForm, problems: list[Any]) -> HttpResponse:
    return render(
        request,
        "web/batches/form.html",
        {"form": form, "problems": problems, "problem_count": len(problems)},
    )


@requires(Perm.BATCHES_CREATE)
def batch_create_view(request: HttpRequest) -> HttpResponse:
    """ "Erstellen von Versandlosreferenz"; "Geräte hinzufügen" adds the typed serial."""
    actor = request.actor  # type: ignore[attr-defined]
    if request.method != "POST":
        return _render_form(request, BatchForm(actor=actor), [])
    form = BatchForm(request.POST, request.FILES, actor=actor)
    if "add" in request.POST:
        form.add_typed()
        return _render_form(request, BatchForm(form.data, actor=actor), [])
    if not form.is_valid():
        return _render_form(request, form, [])
    try:
        batch = services.create_batch(
            actor=actor,
            reference=form.cleaned_data["reference"],
            recipient=form.cleaned_data["recipient"],
            serials=form.entries(),
            needs_confirmation=form.cleaned_data["needs_confirmation"],
            label=form.cleaned_data["label"],
        )
    except DomainError as exc:
        problems = [detail for detail in exc.details if "field" not in detail]
        if problems:
            form.add_error(None, exc.message)
        else:
            apply_domain_error(form, exc)
        return _render_form(request, form, problems)
    messages.success(
        request,
        ngettext(
            "Batch %(reference)s created with %(n)d device.",
            "Batch %(reference)s created with %(n)d devices.",
            batch.device_count,
        )
        % {"reference": batch.reference, "n": batch.device_count},
    )
    return redirect("web:batch_detail", batch_id=batch.pk)


@requires(Perm.BATCHES_CREATE)
@require_POST
def batch_from_selection_view(request: HttpRequest) -> HttpResponse:
    """ "Versandlos aus Selektion erstellen": the form with the selected serials filled in."""
    actor = request.actor  # type: ignore[attr-defined]
    ids = [value for value in request.POST.getlist("device") if value.isdigit()][:MAX_SELECTION]
    serials = list(
        catalogue_rows(actor).filter(pk__in=ids).order_by("serial").values_list("serial", flat=True)
    )
    if not serials:
        messages.warning(request, _("Select devices first."))
    form = BatchForm(initial={"serials": ", ".join(serials)}, actor=actor)
    return _render_form(request, form, [])


@requires(Perm.DEVICES_CLAIM)
@require_POST
def batch_claim_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    """ "Versandlos übernehmen" for one batch: every device still offered in it."""
    actor = request.actor  # type: ignore[attr-defined]
    batch = get_object_or_404(queries.batch_rows(actor), pk=batch_id)
    try:
        outcome = services.claim_batch(actor=actor, batch=batch)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, claim_message(outcome))
    return redirect("web:batch_detail", batch_id=batch.pk)
