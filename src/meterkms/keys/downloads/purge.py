"""Delete what downloads leave behind: expired files, stuck builds, orphaned spool files.

Run by the task ``purge_downloads`` (the worker schedules it for each file's expiry) and by
``meterkms export purge`` (for cron). Idempotent; the download rows and their records stay,
only the files go.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.keys.downloads.background import fail
from meterkms.keys.downloads.service import spool_dir
from meterkms.keys.models import Download, DownloadState

#: Spool files no ready download names are deleted once they are this old (a crashed
#: build's leftovers; a running build touches its files constantly).
ORPHAN_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Purged:
    """What one purge removed."""

    expired: int
    stuck: int
    orphans: int


def _expire(download: Download) -> None:
    with transaction.atomic():
        updated = Download._base_manager.filter(pk=download.pk, state=DownloadState.READY).update(
            state=DownloadState.EXPIRED, spool_name="", spool_key_sealed=None
        )
        if updated:
            record(
                Action.KEYS_DOWNLOAD_DELETED,
                actor=None,
                organisation=download.organisation,
                target=download,
                data={"download_id": str(download.pk), "reason": "expired"},
            )
    # The row no longer names the file: delete it after the commit (a failed delete leaves
    # an orphan that the next purge removes).
    with contextlib.suppress(OSError):
        (spool_dir() / download.spool_name).unlink(missing_ok=True)


def purge(now: datetime | None = None) -> Purged:
    """Delete expired files; fail builds older than the expiry time; sweep orphans."""
    moment = now or timezone.now()
    expired = list(Download._base_manager.filter(state=DownloadState.READY, expires_at__lte=moment))
    for download in expired:
        _expire(download)
    limit = moment - timedelta(hours=settings.METERKMS_DOWNLOAD_HOURS)
    stuck = list(
        Download._base_manager.filter(
            state__in=[DownloadState.QUEUED, DownloadState.BUILDING], created_at__lte=limit
        )
    )
    for download in stuck:
        fail(download, "the preparation did not finish in time")
    return Purged(len(expired), len(stuck), _sweep_orphans())


def _sweep_orphans() -> int:
    directory = spool_dir()
    named = set(
        Download._base_manager.filter(state=DownloadState.READY)
        .exclude(spool_name="")
        .values_list("spool_name", flat=True)
    )
    cutoff = time.time() - ORPHAN_SECONDS
    removed = 0
    for path in directory.iterdir():
        if path.name in named or not path.is_file():
            continue
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed
