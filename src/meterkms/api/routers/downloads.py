"""``/api/v1/downloads``: key downloads and the caller's download list.

Key files come only from POST operations, with ``Cache-Control: no-store``. A browser
session must have entered the password and its second factor's code within the last five
minutes (``api.stepup``: else 403 ``second_factor_required`` or
``reauthentication_required``); an API token with the ``keys:download`` scope needs nothing
more (docs/downloads.md explains why).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from meterkms.api import filtering
from meterkms.api.errors import ERRORS, ErrorOut
from meterkms.api.schemas.downloads import (
    DownloadIn,
    DownloadOut,
    DownloadPage,
    PreviewOut,
    SelectionIn,
    left_out_out,
)
from meterkms.api.stepup import require_fresh
from meterkms.core.errors import DomainError
from meterkms.core.pagination import paginate
from meterkms.keys import downloads
from meterkms.keys.downloads import (
    REASON_TEXTS,
    Delivery,
    DownloadOptions,
    Secret,
    Selection,
)
from meterkms.keys.downloads.http import key_file_response
from meterkms.keys.downloads.options import parse_protection
from meterkms.keys.filters import DownloadFilter
from meterkms.keys.models import Download

router = Router(tags=["downloads"])

DownloadQuery = filtering.query_schema(DownloadFilter, "DownloadQuery")
KEY_ERRORS = {**ERRORS, 409: ErrorOut, 413: ErrorOut, 503: ErrorOut}
FILE = {
    "description": "the protected key file (attachment, Cache-Control: no-store)",
    "content": {"application/octet-stream": {}, "application/zip": {}},
}


def _selection(payload: SelectionIn) -> Selection:
    given = [name for name in ("devices", "filter", "batch") if getattr(payload, name) is not None]
    if len(given) != 1:
        message = _("Give exactly one of devices, filter or batch.")
        raise DomainError("invalid", message, details=[{"field": "devices", "message": message}])
    if payload.devices is not None:
        return Selection.devices(payload.devices)
    if payload.filter is not None:
        return Selection.filtered(payload.filter)
    return Selection.batch(payload.batch or 0)


def _options(payload: DownloadIn, actor: Any) -> DownloadOptions:
    user = getattr(actor, "user", actor)
    return DownloadOptions(
        format=payload.format,
        protection=parse_protection(payload.protection),
        delimiter=payload.csv_delimiter
        if payload.csv_delimiter is not None
        else (user.csv_delimiter or ";"),
        thousands=payload.csv_thousands_separator
        if payload.csv_thousands_separator is not None
        else (user.csv_thousands_separator or ""),
    )


def _secret(payload: DownloadIn) -> Secret:
    pem = payload.recipient_public_key
    return Secret(
        password=payload.password, recipient_public_key=pem.encode("utf-8") if pem else None
    )


def download_out(download: Download) -> dict[str, Any]:
    """The list representation of a download."""
    return {
        **{
            name: getattr(download, name) for name in DownloadOut.model_fields if name != "left_out"
        },
        "left_out": left_out_out(download.left_out, REASON_TEXTS),
    }


@router.post(
    "/preview",
    response={200: PreviewOut, **ERRORS},
    summary="Which devices of a selection give keys (no keys leave)",
)
def preview_download(request: HttpRequest, payload: SelectionIn) -> dict[str, Any]:
    """How many devices of the selection give keys, and which are left out and why."""
    actor = request.auth
    count, left_out = downloads.preview(actor=actor, selection=_selection(payload))
    return {
        "device_count": count,
        "left_out_count": left_out.count,
        "left_out": left_out_out(left_out.entries, REASON_TEXTS),
        "background": count > downloads.stream_limit(),
    }


@router.post(
    "",
    response={202: DownloadOut, **KEY_ERRORS},
    summary="Download keys (the file at once, or 202 and a job for the download list)",
    openapi_extra={"responses": {"200": FILE}},
)
def create_download(request: HttpRequest, payload: DownloadIn) -> Any:
    """The protected key file at once (200), or a queued download for the list (202).

    A browser session needs a password entered within five minutes; a token needs the
    ``keys:download`` scope. The download is recorded before the first byte is sent; when
    the record cannot be written the answer is 503 and no key leaves.
    """
    actor = request.auth
    downloads.require_permission(actor)
    require_fresh(request)
    result = downloads.start(
        actor=actor,
        selection=_selection(payload),
        options=_options(payload, actor),
        secret=_secret(payload),
        background=payload.background,
    )
    if isinstance(result, Delivery):
        return key_file_response(result.content, download=result.download, size=len(result.content))
    return Status(202, download_out(result))


@router.get("", response={200: DownloadPage, **ERRORS}, summary="My download list")
def list_downloads(request: HttpRequest, params: Query[DownloadQuery]) -> dict[str, Any]:  # type: ignore[valid-type]
    """The caller's downloads, newest first."""
    actor = request.auth
    downloads.require_permission(actor)
    scoped = Download.objects.visible_to(actor)
    page = paginate(
        filtering.apply(DownloadFilter, params, scoped), limit=params.limit, offset=params.offset
    )
    return {
        "count": page.total,
        "count_exact": page.exact,
        "offset": page.offset,
        "limit": page.limit,
        "items": [download_out(download) for download in page.items],
    }


@router.get("/{uuid:download_id}", response={200: DownloadOut, **ERRORS}, summary="One download")
def get_download(request: HttpRequest, download_id: UUID) -> dict[str, Any]:
    """One of the caller's downloads: state, progress, counts, left-out devices."""
    actor = request.auth
    downloads.require_permission(actor)
    download = get_object_or_404(Download.objects.visible_to(actor), pk=download_id)
    return download_out(download)


@router.post(
    "/{uuid:download_id}/file",
    response={**KEY_ERRORS},
    summary="The prepared file of a download (POST only)",
    openapi_extra={"responses": {"200": FILE}},
)
def fetch_download(request: HttpRequest, download_id: UUID) -> HttpResponse:
    """The prepared file of a ready download (recorded before the first byte)."""
    actor = request.auth
    downloads.require_permission(actor)
    download = get_object_or_404(Download.objects.visible_to(actor), pk=download_id)
    require_fresh(request)
    fetched = downloads.fetch(actor=actor, download=download)
    return key_file_response(fetched.chunks, download=download, size=fetched.size)
