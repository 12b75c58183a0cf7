"""Template helpers of the key download pages and of the download actions in the device list."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from meterkms.keys.downloads.options import FORMAT_LABELS, PROTECTION_LABELS
from meterkms.keys.exports.protection import Protection
from meterkms.organisations.permissions import Perm

register = template.Library()


@register.filter
def may_download_keys(actor: Any) -> bool:
    """Whether the actor's role lets keys leave (``keys:download``)."""
    return bool(actor is not None and actor.has(Perm.KEYS_DOWNLOAD))


@register.filter
def any_in_progress(downloads: Iterable[Any]) -> bool:
    """Whether any of the downloads is still being prepared (the list then polls)."""
    return any(download.in_progress for download in downloads)


@register.filter
def format_label(name: str) -> str:
    """The readable name of an export format."""
    return str(FORMAT_LABELS.get(name, name))


@register.filter
def protection_label(value: str) -> str:
    """The readable name of a protection method (weak ones say so)."""
    try:
        return str(PROTECTION_LABELS[Protection(value)])
    except (KeyError, ValueError):
        return value
