"""Key downloads: one row per download, the record of what left, the prepared file.

A download is the moment keys leave the system. Its row holds the record (which devices and
keys, by id and fingerprint), the chosen format and protection, and — for downloads prepared
in the background — the encrypted file waiting in the spool until it expires.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from meterkms.core import tenancy
from meterkms.organisations.models import Organisation, subtree_filter

if TYPE_CHECKING:
    from meterkms.core.tenancy import Actor


class DownloadState(models.TextChoices):
    """Where a download stands.

    ``delivered``: sent in the answer to the request (nothing is kept). Background downloads
    go ``queued`` → ``building`` → ``ready`` (the file waits in the download list) →
    ``expired`` (the file is deleted), or end ``failed``.
    """

    QUEUED = "queued", _("queued")
    BUILDING = "building", _("in preparation")
    READY = "ready", _("ready")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")
    EXPIRED = "expired", _("expired")


class Download(models.Model):
    """One key download by one user: what was asked, what left, and the waiting file.

    The record of every key that left is kept in :class:`DownloadRecord` parts (gzip-
    compressed lines ``device id, serial, slot, version, fingerprint``); the audit event of
    the download carries its SHA-256 (``record_sha256``), so the record is covered by the
    audit chain. The file of a background download is kept only
    encrypted (``spool_name`` under a random key that is stored sealed by the vault) and is
    deleted when it expires. A password or recipient key for a background download is kept
    sealed in ``secret_sealed`` until the file is built, then dropped.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    token_prefix = models.CharField(max_length=16, blank=True)
    channel = models.CharField(max_length=16)
    request_info = models.JSONField(default=dict)
    format = models.CharField(_("format"), max_length=16)
    protection = models.CharField(_("protection"), max_length=16)
    options = models.JSONField(default=dict)
    selection = models.JSONField(default=dict)
    background = models.BooleanField(default=False)
    state = models.CharField(
        _("state"), max_length=12, choices=DownloadState.choices, default=DownloadState.QUEUED
    )
    device_count = models.PositiveIntegerField(_("devices"), default=0)
    key_count = models.PositiveIntegerField(_("keys"), default=0)
    left_out = models.JSONField(default=list)
    left_out_count = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True)
    file_name = models.CharField(_("file"), max_length=160, blank=True)
    size = models.BigIntegerField(_("size"), null=True)
    sha256 = models.CharField(max_length=64, blank=True)
    recipient_key_sha256 = models.CharField(max_length=64, blank=True)
    record_sha256 = models.CharField(max_length=64, blank=True)
    spool_name = models.CharField(max_length=100, blank=True)
    spool_key_sealed = models.BinaryField(null=True)
    secret_sealed = models.BinaryField(null=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(null=True)
    expires_at = models.DateTimeField(_("expires"), null=True)
    fetched_at = models.DateTimeField(null=True)
    fetch_count = models.PositiveIntegerField(default=0)

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("download")
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="download_user_created"),
            models.Index(fields=["state", "expires_at"], name="download_state_expiry"),
        ]

    def __str__(self) -> str:
        return f"download {self.pk}"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """The actor's own downloads (a download list is personal), within its tree."""
        return queryset.filter(created_by_id=actor.pk).filter(
            subtree_filter("organisation__path", actor.organisation_path)
        )

    @property
    def in_progress(self) -> bool:
        """Queued or being built (the list and the detail page poll then)."""
        return self.state in {DownloadState.QUEUED, DownloadState.BUILDING}

    @property
    def fetchable(self) -> bool:
        """A prepared file that has not expired yet."""
        return (
            self.state == DownloadState.READY
            and bool(self.spool_name)
            and self.expires_at is not None
            and self.expires_at > timezone.now()
        )

    @property
    def progress_percent(self) -> int:
        """Devices done of the devices to do, in percent (0 before the job counted them)."""
        if not self.progress_total:
            return 0
        return min(100, self.progress_done * 100 // self.progress_total)


class DownloadRecord(models.Model):
    """One part (up to 1 MiB) of a download's record; the parts in order form one gzip file.

    The record of a million-key download is tens of megabytes: written in parts, no single
    statement has to carry (and encode) all of it at once.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    download = models.ForeignKey(Download, on_delete=models.CASCADE, related_name="record_parts")
    part = models.PositiveIntegerField()
    data = models.BinaryField()

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["download", "part"]
        constraints = [
            models.UniqueConstraint(fields=["download", "part"], name="download_record_part")
        ]

    def __str__(self) -> str:
        return f"record of {self.download_id}, part {self.part}"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """The parts of the actor's own downloads."""
        return queryset.filter(download__in=Download.scope_queryset(Download._base_manager, actor))
