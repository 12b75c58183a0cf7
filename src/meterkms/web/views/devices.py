"""The device catalogue ("Gerätekatalog → Geräte"): list, detail, label bulk action."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from meterkms.core.errors import DomainError
from meterkms.devices import services
from meterkms.devices.filters import DeviceFilter
from meterkms.devices.models import Device, DeviceEvent, DeviceKey
from meterkms.devices.queries import catalogue_rows, list_rows
from meterkms.organisations.permissions import Perm
from meterkms.web.views.base import render_list, requires

MAX_SELECTION = 10_000


@requires(Perm.DEVICES_READ)
def device_list_view(request: HttpRequest) -> HttpResponse:
    """SERIENNUMMER, GERÄTETYP, ANNAHMESTATUS, LABELS, batch; chips, selection, ⋮ menu."""
    actor = request.actor  # type: ignore[attr-defined]
    return render_list(
        request,
        "web/devices/list.html",
        filterset_class=DeviceFilter,
        queryset=Device.objects.visible_to(actor).order_by("serial"),
        filterset_kwargs={"actor": actor},
        rows=lambda window: _linked(list_rows(window, actor)),
        estimate=True,  # millions of devices: estimate big results, count small ones
        context={
            "can_label": actor.has(Perm.LABELS_EDIT),
            "can_import": actor.has(Perm.DEVICES_IMPORT),
            # Decided once per page, not once per row: the rows are the page's hot loop.
            "can_claim": actor.has(Perm.DEVICES_CLAIM),
            "can_download": actor.has(Perm.KEYS_DOWNLOAD),
            "download_url": reverse("web:download_new"),
            "claim_url": reverse("web:device_claim"),
        },
    )


#: Stands for the device id in the detail URL reversed once per page.
_ID_MARK = 918273645


def _linked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The list rows with the link to each device's page.

    The URL is reversed once per page and only the id differs from row to row: a
    ``reverse`` per row was a tenth of the rows' time.
    """
    mark = str(_ID_MARK)
    pattern = reverse("web:device_detail", args=[_ID_MARK])
    for row in rows:
        row["url"] = pattern.replace(mark, str(int(row["pk"])))
    return rows


@requires(Perm.DEVICES_READ)
def device_detail_view(request: HttpRequest, device_id: int) -> HttpResponse:
    """Identifiers, owner, claim status, batch, labels, key slots (algorithm + KCV), history."""
    actor = request.actor  # type: ignore[attr-defined]
    device = get_object_or_404(catalogue_rows(actor).select_related("owner"), pk=device_id)
    keys = (
        DeviceKey.objects.visible_to(actor)
        .filter(device=device)
        .only("slot", "algorithm", "version", "state", "kcv", "kcv_cmac", "created_at")
    )
    events = DeviceEvent.objects.visible_to(actor).filter(device=device)
    return render(
        request,
        "web/devices/detail.html",
        {
            "device": device,
            "keys": keys,
            "events": events,
            "can_label": actor.has(Perm.LABELS_EDIT),
        },
    )


@requires(Perm.LABELS_EDIT)
@require_POST
def device_labels_view(request: HttpRequest) -> HttpResponse:
    """Add or remove a label on the selected devices (or one device)."""
    actor = request.actor  # type: ignore[attr-defined]
    ids = [value for value in request.POST.getlist("device") if value.isdigit()][:MAX_SELECTION]
    devices = list(Device.objects.visible_to(actor).filter(pk__in=ids).only("pk"))
    name = request.POST.get("label", "")
    operation = request.POST.get("operation", "add")
    try:
        changed = services.change_labels(
            actor=actor,
            devices=devices,
            add=[name] if operation == "add" else [],
            remove=[name] if operation == "remove" else [],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if changed:
            messages.success(request, _("Labels changed on %(n)d devices.") % {"n": changed})
        else:
            messages.warning(request, _("Select devices and enter a label first."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    return redirect(target or "web:devices")
