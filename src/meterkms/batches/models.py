"""Shipment batches ("Versandlos"): devices on their way from a manufacturer to a customer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from meterkms.core import tenancy
from meterkms.organisations.models import Organisation, subtree_filter

if TYPE_CHECKING:
    from meterkms.core.tenancy import Actor


class ConfirmationState(models.TextChoices):
    """Where a batch's claim request stands ("Bestätigungszustand")."""

    NONE = "none", _("none")
    REQUESTED = "requested", _("requested")
    CONFIRMED = "confirmed", _("confirmed")
    REJECTED = "rejected", _("rejected")


class Batch(models.Model):
    """A shipment batch from the creator organisation to a recipient organisation.

    Devices point at their current batch (``Device.batch``). A batch is *open* until its
    devices are claimed (and, when confirmation is needed, the claim is confirmed).
    """

    tenancy_kind = tenancy.TENANT_OWNED

    reference = models.CharField(_("batch reference"), max_length=100)
    label = models.CharField(_("label"), max_length=100, blank=True)
    creator = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="+"
    )
    needs_confirmation = models.BooleanField(_("claim request needs confirmation"), default=False)
    confirmation_state = models.CharField(
        _("confirmation state"),
        max_length=10,
        choices=ConfirmationState.choices,
        default=ConfirmationState.NONE,
    )
    is_open = models.BooleanField(default=True)
    device_count = models.PositiveIntegerField(_("devices"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("batch")
        constraints = [
            models.UniqueConstraint(fields=["creator", "reference"], name="batch_reference_unique")
        ]

    def __str__(self) -> str:
        return self.reference

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Batches created in the actor's subtree or addressed to it."""
        path = actor.organisation_path
        return queryset.filter(
            subtree_filter("creator__path", path) | subtree_filter("recipient__path", path)
        )
