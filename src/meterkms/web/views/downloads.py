"""Key downloads in the browser ("Schlüssel herunterladen", "Download-Liste").

The download page takes its selection from the query string (device ids, a filter of the
device list, or a batch: never keys or tokens), asks for format and protection, and answers
the POST with the file — or queues it for the download list. Every page that lets keys
leave wants a password (and a code of the second factor) entered within the last five
minutes (``/reauth/``); a role that may download keys must have set up a second factor.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from meterkms.accounts import reauth
from meterkms.core.errors import DomainError
from meterkms.keys import downloads
from meterkms.keys.downloads import REASON_TEXTS, Delivery, Kind, Reason, Selection
from meterkms.keys.downloads.http import key_file_response
from meterkms.keys.filters import DownloadFilter
from meterkms.keys.forms import DownloadForm
from meterkms.keys.models import Download
from meterkms.organisations.permissions import Perm
from meterkms.web.views.base import apply_domain_error, render_list, requires
from meterkms.web.views.reauth import redirect_to_reauth
from meterkms.web.views.second_factor import redirect_to_set_up

#: Most devices the list's selection hands to the download page (the URL stays short).
MAX_HANDOFF = 1000


def selection_from(query: QueryDict) -> Selection | None:
    """The selection named by the download page's query string (None: nothing selected)."""
    kind = query.get("selection") or Kind.DEVICES.value
    try:
        if kind == Kind.FILTER.value:
            return Selection.filtered(query.dict())
        if kind == Kind.BATCH.value:
            return Selection.batch(int(query.get("batch", "")))
        ids = [int(value) for value in query.getlist("device") if value.isdigit()]
        return Selection.devices(ids) if ids else None
    except (ValueError, DomainError):
        return None


def _left_out_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**entry, "text": REASON_TEXTS[Reason(entry["reason"])]}
        for entry in entries
        if entry.get("reason") in Reason._value2member_map_
    ]


@requires(Perm.KEYS_DOWNLOAD)
@never_cache
def download_new_view(request: HttpRequest) -> HttpResponse:
    """Preview the selection, choose format and protection, get the file (or queue it)."""
    actor = request.actor  # type: ignore[attr-defined]
    if request.method == "POST" and "handoff" in request.POST:
        return _handoff(request)
    if reauth.needs_second_factor(request):
        return redirect_to_set_up(request)
    if not reauth.is_fresh(request):
        return redirect_to_reauth(request)
    selection = selection_from(request.GET)
    if selection is None:
        messages.warning(request, _("Select devices first."))
        return redirect("web:devices")
    try:
        count, left_out = downloads.preview(actor=actor, selection=selection)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:devices")
    form = DownloadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        answer = _start(request, form, selection)
        if answer is not None:
            return answer
    context = {
        "form": form,
        "count": count,
        "left_out": _left_out_rows(left_out.entries),
        "left_out_count": left_out.count,
        "stream_limit": downloads.stream_limit(),
        "minutes_left": max(1, -(-reauth.seconds_left(request) // 60)),
    }
    return render(request, "web/downloads/new.html", context)


def _start(request: HttpRequest, form: DownloadForm, selection: Selection) -> HttpResponse | None:
    actor = request.actor  # type: ignore[attr-defined]
    try:
        result = downloads.start(
            actor=actor,
            selection=selection,
            options=form.options(actor),
            secret=form.secret(),
            background=form.cleaned_data["background"],
        )
    except DomainError as exc:
        if exc.code == "unavailable":
            return render(
                request, "web/downloads/unavailable.html", {"message": exc.message}, status=503
            )
        apply_domain_error(form, exc)
        return None
    if isinstance(result, Delivery):
        return key_file_response(result.content, download=result.download, size=len(result.content))
    messages.success(
        request,
        _("The file is being prepared. It will appear in your download list when ready."),
    )
    return redirect("web:download_detail", download_id=result.pk)


def _handoff(request: HttpRequest) -> HttpResponse:
    """The device list's selection (POSTed with its form) → the download page's URL."""
    ids = [value for value in request.POST.getlist("device") if value.isdigit()]
    if not ids:
        messages.warning(request, _("Select devices first."))
        return redirect("web:devices")
    if len(ids) > MAX_HANDOFF:
        messages.error(
            request,
            _("Select at most %(n)d devices here, or download everything the filter shows.")
            % {"n": MAX_HANDOFF},
        )
        return redirect("web:devices")
    query = urlencode([("device", value) for value in dict.fromkeys(ids)])
    return redirect(reverse("web:download_new") + "?" + query)


@requires(Perm.KEYS_DOWNLOAD)
@never_cache
def download_list_view(request: HttpRequest) -> HttpResponse:
    """The user's download list: format, devices, state, created, expiry, size, download."""
    actor = request.actor  # type: ignore[attr-defined]
    return render_list(
        request,
        "web/downloads/list.html",
        filterset_class=DownloadFilter,
        queryset=Download.objects.visible_to(actor).defer("left_out"),
    )


@requires(Perm.KEYS_DOWNLOAD)
@never_cache
def download_detail_view(request: HttpRequest, download_id: Any) -> HttpResponse:
    """One download: progress while it is prepared, what was left out, the file button."""
    actor = request.actor  # type: ignore[attr-defined]
    download = get_object_or_404(Download.objects.visible_to(actor), pk=download_id)
    context = {"download": download, "left_out": _left_out_rows(download.left_out)}
    if request.htmx and download.in_progress:  # type: ignore[attr-defined]
        return render(request, "web/downloads/detail.html#status", context)
    return render(request, "web/downloads/detail.html", context)


@requires(Perm.KEYS_DOWNLOAD)
@require_POST
def download_file_view(request: HttpRequest, download_id: Any) -> HttpResponse:
    """The prepared file (POST only; the fetch is recorded before the first byte)."""
    actor = request.actor  # type: ignore[attr-defined]
    download = get_object_or_404(Download.objects.visible_to(actor), pk=download_id)
    detail = reverse("web:download_detail", args=[download.pk])
    if reauth.needs_second_factor(request):
        return redirect_to_set_up(request, detail)
    if not reauth.is_fresh(request):
        return redirect_to_reauth(request, detail)
    try:
        fetched = downloads.fetch(actor=actor, download=download)
    except DomainError as exc:
        if exc.code == "unavailable":
            return render(
                request, "web/downloads/unavailable.html", {"message": exc.message}, status=503
            )
        messages.error(request, exc.message)
        return redirect("web:download_detail", download_id=download.pk)
    return key_file_response(fetched.chunks, download=download, size=fetched.size)
