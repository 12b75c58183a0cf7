"""Key downloads: the moment keys leave the system (docs/downloads.md).

Public entry points (web views, API operations and tasks call only these):

* :func:`start` — one download request: answered at once (:class:`Delivery`) or queued in
  the background (:class:`~meterkms.keys.models.Download`);
* :func:`preview` — which devices of a selection would give keys, and which are left out;
* :func:`fetch` — a prepared file from the download list;
* :func:`purge` — delete expired files.
"""

from __future__ import annotations

from typing import Any

from meterkms.core.errors import DomainError
from meterkms.keys.downloads.background import Fetched, build_background, fetch, request_background
from meterkms.keys.downloads.options import (
    FORMAT_LABELS,
    FORMATS,
    PROTECTION_LABELS,
    DownloadOptions,
    Secret,
)
from meterkms.keys.downloads.purge import Purged, purge
from meterkms.keys.downloads.selection import (
    REASON_TEXTS,
    Kind,
    LeftOut,
    Reason,
    Selection,
    resolve,
)
from meterkms.keys.downloads.service import (
    Delivery,
    deliver,
    require_permission,
    stream_limit,
)
from meterkms.keys.models import Download


def preview(*, actor: Any, selection: Selection) -> tuple[int, LeftOut]:
    """How many devices of ``selection`` may give keys, and which are left out (and why)."""
    require_permission(actor)
    resolved = resolve(selection, actor)
    return resolved.count(), resolved.left_out


def start(
    *,
    actor: Any,
    selection: Selection,
    options: DownloadOptions,
    secret: Secret,
    background: bool = False,
) -> Delivery | Download:
    """Deliver a small download at once, or queue it (asked for, or above the stream limit)."""
    if not background:
        try:
            return deliver(actor=actor, selection=selection, options=options, secret=secret)
        except DomainError as refused:
            if refused.code != "too_large":  # raised before anything is built or recorded
                raise
    return request_background(actor=actor, selection=selection, options=options, secret=secret)


__all__ = [
    "FORMATS",
    "FORMAT_LABELS",
    "PROTECTION_LABELS",
    "REASON_TEXTS",
    "Delivery",
    "Download",
    "DownloadOptions",
    "Fetched",
    "Kind",
    "LeftOut",
    "Purged",
    "Reason",
    "Secret",
    "Selection",
    "build_background",
    "deliver",
    "fetch",
    "preview",
    "purge",
    "request_background",
    "require_permission",
    "start",
    "stream_limit",
]
