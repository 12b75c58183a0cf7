"""Background tasks of key downloads: build a prepared file, purge expired ones."""

from __future__ import annotations

from django.tasks import task

from meterkms.core import context
from meterkms.keys import downloads


@task()
def build_download(download_id: str) -> None:
    """Build a queued download's file and make it fetchable from the download list."""
    downloads.build_background(download_id)


@task()
def purge_downloads() -> dict[str, int]:
    """Delete expired download files (scheduled for each file's expiry)."""
    with context.channel("task"):
        purged = downloads.purge()
    return {"expired": purged.expired, "stuck": purged.stuck, "orphans": purged.orphans}
