"""Downloads prepared in the background: request, build, fetch from the download list, purge.

A background download is requested (row + ``keys.download_requested`` event), built by a task
into an encrypted spool file, and becomes *ready* in the transaction that commits its record
(``keys.downloaded``). The file leaves only when its owner fetches it, after a committed
``keys.download_fetched`` event. Files expire after ``METERKMS_DOWNLOAD_HOURS`` and are then
deleted (``keys.download_deleted``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from meterkms.accounts.models import User
from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core import context, tenancy
from meterkms.core.errors import DomainError
from meterkms.keys.downloads.build import SpoolScratch
from meterkms.keys.downloads.options import DownloadOptions, Secret, check
from meterkms.keys.downloads.selection import Selection, resolve
from meterkms.keys.downloads.service import (
    SECRET_SCOPE,
    apply_built,
    audit_data,
    build_file,
    commit_record,
    new_download,
    nothing_to_download,
    require_permission,
    spool_dir,
    unavailable,
)
from meterkms.keys.models import Download, DownloadState
from meterkms.vault.runtime import get_vault
from meterkms.vault.spool import SEGMENT, SpoolWriter, new_spool_key, open_spool

logger = logging.getLogger(__name__)

_PASSWORD, _RECIPIENT = b"P", b"R"


def seal_secret(download_id: Any, slot: str, value: bytes) -> bytes:
    """Seal a value for one download (bound to its id and purpose); commits vault capacity,
    so call it outside any transaction."""
    vault = get_vault()
    vault.prepare(SECRET_SCOPE, 1)
    return vault.seal(
        value, scope=SECRET_SCOPE, record=f"download:{download_id}", slot=slot, version=1
    )


def unseal_secret(download: Download, slot: str, blob: Any) -> bytes:
    """Open a value sealed by :func:`seal_secret` for ``download``."""
    return get_vault().unseal(
        bytes(blob), scope=SECRET_SCOPE, record=f"download:{download.pk}", slot=slot, version=1
    )


def _pack_secret(secret: Secret) -> bytes | None:
    if secret.recipient_public_key:
        return _RECIPIENT + secret.recipient_public_key
    if secret.password:
        return _PASSWORD + secret.password.encode("utf-8")
    return None


def _unpack_secret(packed: bytes | None) -> Secret:
    if not packed:
        return Secret()
    if packed[:1] == _RECIPIENT:
        return Secret(recipient_public_key=packed[1:])
    return Secret(password=packed[1:].decode("utf-8"))


def request_background(
    *, actor: Any, selection: Selection, options: DownloadOptions, secret: Secret
) -> Download:
    """Queue a download; the task builds it and it lands in the actor's download list."""
    require_permission(actor)
    recipient_sha256 = check(options, secret)
    resolved = resolve(selection, actor)
    count = resolved.count()
    if count == 0:
        raise nothing_to_download(resolved.left_out)
    download = new_download(
        actor=actor,
        selection=selection,
        options=options,
        recipient_sha256=recipient_sha256,
        background=True,
    )
    download.state = DownloadState.QUEUED
    download.progress_total = count
    download.left_out = resolved.left_out.entries
    download.left_out_count = resolved.left_out.count
    packed = _pack_secret(secret)
    if packed is not None:
        # Sealing reserves vault capacity, which commits on its own: before the transaction.
        download.secret_sealed = seal_secret(download.pk, "secret", packed)
    with transaction.atomic():
        download.save(force_insert=True)
        record(
            Action.KEYS_DOWNLOAD_REQUESTED,
            actor=actor,
            organisation=download.organisation,
            target=download,
            data={**audit_data(download), "selection": selection.kind.value},
        )
        transaction.on_commit(lambda: _enqueue_build(download.pk))
    return download


def _enqueue_build(download_id: Any) -> None:
    from meterkms.keys.tasks import build_download

    build_download.enqueue(download_id=str(download_id))


def _acting_user(download: Download) -> User:
    with tenancy.crossing("a download task acts for the user who asked for the download"):
        return User.objects.select_related("organisation").get(pk=download.created_by_id)


def _claim(download_id: Any) -> Download | None:
    """Move a queued download to building (once: a second run of the task finds nothing)."""
    claimed = Download._base_manager.filter(pk=download_id, state=DownloadState.QUEUED).update(
        state=DownloadState.BUILDING
    )
    return Download._base_manager.get(pk=download_id) if claimed else None


#: Seconds between two progress writes (each is a committed UPDATE).
PROGRESS_SECONDS = 1.0


def _progress(download: Download) -> Any:
    last = [time.monotonic()]

    def report(devices: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_SECONDS:
            last[0] = now
            Download._base_manager.filter(pk=download.pk).update(progress_done=devices)

    return report


def fail(download: Download, message: str) -> None:
    """Mark a download failed (no file kept) and audit it; best effort, never raises."""
    try:
        with transaction.atomic():
            Download._base_manager.filter(pk=download.pk).update(
                state=DownloadState.FAILED,
                error=message[:500],
                secret_sealed=None,
                finished_at=timezone.now(),
            )
            record(
                Action.KEYS_DOWNLOAD_FAILED,
                actor=None,
                organisation=download.organisation,
                target=download,
                data={"download_id": str(download.pk), "error": message[:200]},
            )
    except Exception:
        logger.exception("download %s: could not be marked failed", download.pk)


def build_background(download_id: Any) -> None:
    """The task body: build the file, commit its record, make it fetchable."""
    download = _claim(download_id)
    if download is None:
        return
    stored = download.request_info or {}
    info = context.RequestInfo(
        request_id=stored.get("request_id") or "",
        ip=stored.get("ip"),
        user_agent=stored.get("user_agent") or "",
        channel="task",
    )
    token = context.set_current(info)
    try:
        user = _acting_user(download)
        with tenancy.acting_as(user):
            _build(download, user)
    except DomainError as exc:
        fail(download, exc.message)
    except Exception:
        logger.exception("download %s: the build failed", download.pk)
        fail(download, _("The file could not be prepared."))
    finally:
        context.reset(token)


def _build(download: Download, user: User) -> None:
    require_permission(user)  # the role may have changed since the request
    options = DownloadOptions.from_json(download.options)
    packed = (
        unseal_secret(download, "secret", download.secret_sealed)
        if download.secret_sealed
        else None
    )
    secret = _unpack_secret(packed)
    check(options, secret)
    resolved = resolve(Selection.from_json(download.selection), user)
    count = resolved.count()
    directory = spool_dir()
    name = f"{download.pk.hex}.mkdl"
    key = new_spool_key()
    writer = SpoolWriter(directory / name, key)
    kept = False
    try:
        built = build_file(
            actor=user,
            resolved=resolved,
            options=options,
            secret=secret,
            download=download,
            sink=writer,
            scratch=SpoolScratch(directory, download.pk.hex),
            count=count,
            progress=_progress(download),
        )
        writer.close()
        if built.keys == 0:
            raise nothing_to_download(resolved.left_out)
        apply_built(download, built, resolved.left_out)
        download.spool_name = name
        download.spool_key_sealed = seal_secret(download.pk, "spool", key)
        download.secret_sealed = None
        download.state = DownloadState.READY
        download.file_name = options.file_name(download.created_at)
        download.expires_at = download.finished_at + timedelta(
            hours=settings.METERKMS_DOWNLOAD_HOURS
        )
        commit_record(actor=user, download=download, built=built, insert=False)
        kept = True
    finally:
        if not kept:
            with contextlib.suppress(OSError, ValueError):  # ValueError: closed already
                writer.close()
            (directory / name).unlink(missing_ok=True)
    _schedule_purge(download.expires_at)


def _schedule_purge(moment: datetime | None) -> None:
    """Ask the worker to purge when this file expires (backends that can defer tasks)."""
    from django.tasks import default_task_backend

    from meterkms.keys.tasks import purge_downloads

    if moment is not None and default_task_backend.supports_defer:
        purge_downloads.using(run_after=moment + timedelta(seconds=5)).enqueue()


@dataclass
class Fetched:
    """A prepared file on its way out: chunks of the protected file, its name and size."""

    chunks: Iterator[bytes]
    file_name: str
    size: int


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := handle.read(SEGMENT):
            yield chunk
    finally:
        handle.close()


def fetch(*, actor: Any, download: Download) -> Fetched:
    """Open the prepared file of ``download`` for its owner, after committing the fetch event.

    Raises ``conflict`` when the file is not ready or has expired, ``unavailable`` when the
    fetch cannot be recorded (then nothing is sent).
    """
    require_permission(actor)
    if not download.fetchable:
        raise DomainError("conflict", _("This file is not available (any more)."))
    key = unseal_secret(download, "spool", download.spool_key_sealed)
    try:
        handle = open_spool(spool_dir() / download.spool_name, key)
    except FileNotFoundError:
        raise DomainError("conflict", _("This file is not available (any more).")) from None
    try:
        with transaction.atomic(durable=True):
            Download._base_manager.filter(pk=download.pk).update(
                fetch_count=F("fetch_count") + 1, fetched_at=timezone.now()
            )
            record(
                Action.KEYS_DOWNLOAD_FETCHED,
                actor=actor,
                organisation=download.organisation,
                target=download,
                data={
                    "download_id": str(download.pk),
                    "key_count": download.key_count,
                    "sha256": download.sha256,
                },
            )
    except Exception:
        handle.close()
        logger.warning("download %s: the fetch could not be recorded", download.pk)
        raise unavailable() from None
    return Fetched(_chunks(handle), download.file_name, download.size or 0)
