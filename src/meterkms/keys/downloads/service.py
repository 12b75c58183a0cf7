"""The download service: who may download which keys, and the record before any key leaves.

Order of a download that is answered at once (small selections):

1. permission (``keys:download``), options and secret are checked;
2. the selection is resolved: only devices CLAIMED by the actor's subtree give keys;
3. the file is built in memory (keys unsealed, formatted, protected);
4. the download row and its audit event (device ids, key fingerprints, format, protection,
   download id) are written in one durable transaction and **committed**;
5. only then does the caller send the bytes. If step 4 fails, the answer is an error
   (``unavailable``, 503) and the built bytes are dropped: no key leaves without a record.

Larger selections (more devices than ``METERKMS_DOWNLOAD_STREAM_DEVICES``) become background
jobs (:mod:`meterkms.keys.downloads.background`) whose file becomes fetchable in the same
transaction that commits their record.
"""

from __future__ import annotations

import io
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core import context
from meterkms.core.errors import DomainError, PermissionDenied
from meterkms.keys.downloads.build import Builder, Built, Scratch
from meterkms.keys.downloads.options import DownloadOptions, Secret, check
from meterkms.keys.downloads.selection import (
    REASON_TEXTS,
    LeftOut,
    Reason,
    Resolved,
    Selection,
    resolve,
)
from meterkms.keys.downloads.source import CHUNK, KeySource, any_labels, report_keyless
from meterkms.keys.exports.manifest import ExportDescription, Exporter
from meterkms.keys.exports.protection import Protection
from meterkms.keys.models import Download, DownloadRecord, DownloadState
from meterkms.organisations.permissions import Perm
from meterkms.vault.runtime import get_vault

logger = logging.getLogger(__name__)

#: Vault scope of the secrets kept for background downloads (spool keys, passwords).
SECRET_SCOPE = "system:downloads"  # noqa: S105 (a vault scope name, not a secret)
#: How many left-out devices an error message details.
DETAILS_LISTED = 50

_CONTENT_TYPES = {
    Protection.PASSWORD: "application/octet-stream",
}


def spool_dir() -> Path:
    """Where the encrypted files of background downloads wait (data directory, mode 0700)."""
    path = settings.DATA_DIR / "downloads"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def stream_limit() -> int:
    """Selections with more eligible devices than this are prepared in the background."""
    return int(settings.METERKMS_DOWNLOAD_STREAM_DEVICES)


def user_of(actor: Any) -> Any:
    """The user behind an actor (a token acts for its user)."""
    return getattr(actor, "user", actor)


def organisation_of(actor: Any, download: Download) -> Any:
    """The download's organisation, from the actor when it is theirs (saves a query)."""
    organisation = getattr(user_of(actor), "organisation", None)
    if organisation is not None and organisation.pk == download.organisation_id:
        return organisation
    return download.organisation


def require_permission(actor: Any) -> None:
    """403 unless the actor holds ``keys:download``."""
    if actor is None or not actor.has(Perm.KEYS_DOWNLOAD):
        raise PermissionDenied(_("Your role does not allow downloading keys."))


def exporter_of(actor: Any) -> Exporter:
    """Who the manifest names as exporter, as text at this moment."""
    user = user_of(actor)
    return Exporter(
        name=(user.name or "")[:200],
        email=user.email,
        organisation=(user.organisation.name or "")[:200],
    )


def describe(
    download_id: Any, options: DownloadOptions, moment: datetime, actor: Any
) -> ExportDescription:
    """The manifest's description of one download."""
    return ExportDescription(
        format=options.format,
        payload_name=options.payload_name(moment),
        media_type=options.content_type,
        exporter=exporter_of(actor),
        download_id=str(download_id),
        created_at=moment,
    )


def content_type(protection: Protection) -> str:
    """The media type of a protected file (ZIP for every method but ``password``)."""
    return _CONTENT_TYPES.get(protection, "application/zip")


def left_out_details(left_out: LeftOut) -> list[dict[str, Any]]:
    """Left-out devices as error details: device id, serial (when visible), reason, text."""
    return [
        {**entry, "message": str(REASON_TEXTS[Reason(entry["reason"])])}
        for entry in left_out.entries[:DETAILS_LISTED]
    ]


def nothing_to_download(left_out: LeftOut) -> DomainError:
    """The error for a selection of which no device gives a key."""
    return DomainError(
        "invalid",
        _(
            "None of the selected devices gives a key: keys can be downloaded only for "
            "devices claimed by your organisation, with an active key the format can hold."
        ),
        details=left_out_details(left_out),
    )


def unavailable() -> DomainError:
    """The fail-closed answer when the record of a download cannot be written."""
    return DomainError(
        "unavailable",
        _("The download could not be recorded, so no key was sent. Please try again later."),
    )


def audit_data(download: Download, built: Built | None = None) -> dict[str, Any]:
    """The audit event's data for a download (lists only for small downloads)."""
    data: dict[str, Any] = {
        "download_id": str(download.pk),
        "format": download.format,
        "protection": download.protection,
        "background": download.background,
        "device_count": download.device_count,
        "key_count": download.key_count,
        "left_out_count": download.left_out_count,
    }
    if download.record_sha256:
        data["record_sha256"] = download.record_sha256
    if download.recipient_key_sha256:
        data["recipient_sha256"] = download.recipient_key_sha256
    if download.token_prefix:
        data["token_prefix"] = download.token_prefix
    if built is not None and built.fingerprints is not None:
        data["device_ids"] = built.device_ids
        data["key_fingerprints"] = built.fingerprints
    return data


def request_info() -> dict[str, Any]:
    """Where the request came from, kept for a background download's audit events."""
    info = context.current()
    return {
        "request_id": info.request_id,
        "ip": info.ip,
        "user_agent": info.user_agent,
        "channel": info.channel,
    }


def new_download(
    *,
    actor: Any,
    selection: Selection,
    options: DownloadOptions,
    recipient_sha256: str,
    background: bool,
) -> Download:
    """An unsaved download row for ``actor`` (its id goes into the manifest)."""
    user = user_of(actor)
    token = getattr(actor, "token", None)
    return Download(
        id=uuid.uuid4(),
        organisation_id=actor.organisation_id,
        created_by=user,
        token_prefix=token.prefix if token is not None else "",
        channel=context.current().channel,
        request_info=request_info(),
        format=options.format,
        protection=options.protection.value,
        options=options.as_json(),
        selection=selection.as_json(),
        background=background,
        recipient_key_sha256=recipient_sha256,
        created_at=timezone.now(),
    )


def apply_built(download: Download, built: Built, left_out: LeftOut) -> None:
    """Copy the outcome of a build onto the download row."""
    download.device_count = built.devices
    download.key_count = built.keys
    download.size = built.size
    download.sha256 = built.sha256
    download.record_sha256 = built.record_sha256
    download.left_out = left_out.entries
    download.left_out_count = left_out.count
    download.progress_done = built.devices
    download.progress_total = built.devices
    download.finished_at = timezone.now()


def build_file(
    *,
    actor: Any,
    resolved: Resolved,
    options: DownloadOptions,
    secret: Secret,
    download: Download,
    sink: Any,
    scratch: Scratch,
    count: int,
    progress: Any = None,
) -> Built:
    """Build the protected file of ``download`` into ``sink`` (nothing is recorded here).

    ``count`` is the number of eligible devices; when fewer of them gave a key row, the
    others are looked up and reported (no active key, or none the format can hold).
    """
    source = KeySource(resolved.eligible, options.format, resolved.left_out, expected=count)
    builder = Builder(
        vault=get_vault(),
        source=source,
        actor=actor,
        options=options,
        # One chunk reads its labels in one query anyway; only big downloads ask first.
        labels=count <= CHUNK or any_labels(resolved.eligible, actor),
        progress=progress,
    )
    description = describe(download.pk, options, download.created_at, actor)
    built = builder.build(sink=sink, scratch=scratch, description=description, secret=secret)
    if source.seen < count:
        report_keyless(resolved.eligible, options.format, resolved.left_out)
    return built


@dataclass(frozen=True)
class Delivery:
    """A download answered at once: its committed row and the protected file."""

    download: Download
    content: bytes
    file_name: str
    content_type: str


def deliver(
    *, actor: Any, selection: Selection, options: DownloadOptions, secret: Secret
) -> Delivery:
    """Build a small download in memory, commit its record, and hand back the file.

    Raises DomainError: ``forbidden`` (role), ``invalid`` (options, or no device gives a
    key), ``not_found`` (batch), ``too_large`` (more devices than the stream limit), and
    ``unavailable`` when the record cannot be committed — then no byte may be sent.
    """
    require_permission(actor)
    recipient_sha256 = check(options, secret)
    resolved = resolve(selection, actor)
    count = resolved.count()
    if count == 0:
        raise nothing_to_download(resolved.left_out)
    if count > stream_limit():
        raise DomainError(
            "too_large",
            _("More than %(n)d devices: the file is prepared in the background.")
            % {"n": stream_limit()},
        )
    download = new_download(
        actor=actor,
        selection=selection,
        options=options,
        recipient_sha256=recipient_sha256,
        background=False,
    )
    sink = io.BytesIO()
    built = build_file(
        actor=actor,
        resolved=resolved,
        options=options,
        secret=secret,
        download=download,
        sink=sink,
        scratch=Scratch(),
        count=count,
    )
    if built.keys == 0:
        raise nothing_to_download(resolved.left_out)
    apply_built(download, built, resolved.left_out)
    download.state = DownloadState.DELIVERED
    download.file_name = options.file_name(download.created_at)
    commit_record(actor=actor, download=download, built=built, insert=True)
    return Delivery(
        download=download,
        content=sink.getvalue(),
        file_name=download.file_name,
        content_type=content_type(options.protection),
    )


def commit_record(*, actor: Any, download: Download, built: Built, insert: bool) -> None:
    """Save the download row and its ``keys.downloaded`` event in one committed transaction.

    Any failure (database, audit chain, anything) becomes ``unavailable``: the caller must
    then not let the file leave.
    """
    try:
        with transaction.atomic(durable=True):
            if insert:
                download.save(force_insert=True)
            else:
                download.save()
            DownloadRecord._base_manager.bulk_create(
                [
                    DownloadRecord(download=download, part=index, data=data)
                    for index, data in enumerate(built.record)
                ],
                batch_size=4,  # a few MiB per statement, never the whole record at once
            )
            record(
                Action.KEYS_DOWNLOADED,
                actor=actor,
                organisation=organisation_of(actor, download),
                target=download,
                data=audit_data(download, built),
            )
    except Exception:
        # Fail closed: whatever broke, the record is not there, so the keys stay here.
        # The statements carry ids, counts and fingerprints, never keys: the trace may be logged.
        logger.warning("download %s: the record could not be committed", download.pk, exc_info=True)
        raise unavailable() from None
