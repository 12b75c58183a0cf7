"""The audit log: append-only, HMAC-chained, surviving the deletion of what it names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from meterkms.core import tenancy
from meterkms.core.fields import BinaryOrderCharField
from meterkms.organisations.models import subtree_filter

if TYPE_CHECKING:
    from meterkms.core.tenancy import Actor


class AuditEvent(models.Model):
    """One security-relevant event.

    Actor and organisation are foreign keys with SET_NULL *plus* copies of their identity,
    so the record survives deletions (the foreign keys are the only columns the database
    trigger lets change, and only to NULL). ``seq`` is gapless and ``chain`` is
    HMAC(audit key, previous chain ‖ canonical row), so an edited, deleted, inserted or
    reordered row breaks verification (``meterkms audit verify``). Rows are never updated or
    deleted: a trigger refuses it on both databases.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(db_index=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=True,
    )
    actor_ref = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(_("actor"), max_length=300, blank=True)
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    organisation_ref = models.CharField(max_length=64, blank=True)
    organisation_name = models.CharField(_("organisation"), max_length=200, blank=True)
    organisation_path = BinaryOrderCharField(max_length=2000, blank=True, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    target_repr = models.CharField(_("object"), max_length=300, blank=True)
    data = models.JSONField(default=dict)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    channel = models.CharField(_("channel"), max_length=16)
    request_id = models.CharField(max_length=64, blank=True)
    chain = models.CharField(max_length=64)

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit event")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Events of the actor's subtree; platform events (no organisation) only at a root."""
        scope = subtree_filter("organisation_path", actor.organisation_path)
        if actor.organisation_path.count("/") == 1:
            scope |= models.Q(organisation_path="")
        return queryset.filter(scope)


class AuditHead(models.Model):
    """The chain's head: last sequence number and chain value, MAC'd with the audit key.

    Appending locks this single row, which orders concurrent appenders; its MAC lets
    verification notice a truncated tail.
    """

    tenancy_kind = tenancy.GLOBAL

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    chain = models.CharField(max_length=64, blank=True)
    mac = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"audit head #{self.seq}"
