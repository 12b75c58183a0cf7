"""Hand-overs in the browser ("Besitz übernehmen"): the form and the list of hand-overs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import ngettext

from meterkms.batches import queries, services
from meterkms.batches.filters import TransferFilter
from meterkms.batches.forms import TransferForm
from meterkms.core.errors import DomainError
from meterkms.devices.queries import catalogue_rows
from meterkms.organisations.permissions import Perm
from meterkms.web.views.base import apply_domain_error, render_list, requires

MAX_SELECTION = 500


def _selection(request: HttpRequest, actor: Any) -> list[dict[str, Any]]:
    """The selected devices the actor sees (id and serial), from the device list."""
    ids = [value for value in request.POST.getlist("device") if value.isdigit()][:MAX_SELECTION]
    return list(catalogue_rows(actor).filter(pk__in=ids).values("pk", "serial"))


@requires(Perm.OWNERSHIP_TRANSFER)
def ownership_view(request: HttpRequest) -> HttpResponse:
    """The hand-over form (serials, file, or a selection) above the list of hand-overs."""
    actor = request.actor  # type: ignore[attr-defined]
    selected: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    form = TransferForm(actor=actor)
    if request.method == "POST":
        selected = _selection(request, actor)
        if "receiver" in request.POST:
            form = TransferForm(request.POST, request.FILES, actor=actor)
            if form.is_valid():
                try:
                    transfer = services.transfer_ownership(
                        actor=actor,
                        receiver=form.cleaned_data["receiver"],
                        reason=form.cleaned_data["reason"],
                        device_ids=[row["pk"] for row in selected],
                        serials=form.entries(),
                    )
                except DomainError as exc:
                    problems = [d for d in exc.details if "field" not in d]
                    if problems:
                        form.add_error(None, exc.message)
                    else:
                        apply_domain_error(form, exc)
                else:
                    messages.success(
                        request,
                        ngettext(
                            "%(n)d device handed over to %(receiver)s.",
                            "%(n)d devices handed over to %(receiver)s.",
                            transfer.device_count,
                        )
                        % {"n": transfer.device_count, "receiver": transfer.receiver.name},
                    )
                    return redirect("web:ownership")
    return render_list(
        request,
        "web/batches/ownership.html",
        filterset_class=TransferFilter,
        queryset=queries.transfers(actor),
        filterset_kwargs={"actor": actor},
        context={"form": form, "selected": selected, "problems": problems},
    )
