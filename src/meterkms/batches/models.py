"""Shipment batches ("Versandlos"), claim requests and ownership hand-overs.

How devices travel from the manufacturer to the customer (docs/batches.md). The device's own
columns (``owner``, ``claim_status``, ``claimable_by``, ``batch``) carry the state; these
models record the offers, the requests and the hand-overs around it. Every change goes
through :mod:`meterkms.batches.claims` (the transitions) and the services.
"""

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

    Devices point at the batch they travel in (``Device.batch``) and, while it is offered,
    at the recipient (``Device.claimable_by``). A batch is *open* while any of its devices is
    still offered (unclaimed or waiting for confirmation); ``is_open`` is kept under the
    batch's row lock by every claim, confirmation and rejection. ``device_count`` is the
    number of devices the batch was created with.
    """

    tenancy_kind = tenancy.TENANT_OWNED
    #: What a filter chip's search matches (``web.templatetags.filter_chips``).
    option_text = "reference"

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
        verbose_name_plural = _("batches")
        constraints = [
            models.UniqueConstraint(fields=["creator", "reference"], name="batch_reference_unique")
        ]
        indexes = [
            models.Index(fields=["recipient", "is_open"], name="batch_recipient_open"),
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


class ClaimRequest(models.Model):
    """A recipient's claim of devices of a batch that needs the sender's confirmation.

    The devices it covers are the batch's PENDING devices: a batch has at most one open
    request (a partial unique index), and claims made while one is open join it. The
    creator's organisation confirms (the devices become CLAIMED, owned by the recipient) or
    rejects it (they return to the creator's stock, UNCLAIMED and no longer offered).
    """

    tenancy_kind = tenancy.TENANT_OWNED

    class State(models.TextChoices):
        """Open until the sender decides; then confirmed or rejected, for good."""

        OPEN = "open", _("open")
        CONFIRMED = "confirmed", _("confirmed")
        REJECTED = "rejected", _("rejected")

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="claim_requests")
    #: The batch's creator, copied so that the scope stays one hop.
    creator = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    #: The claiming organisation (the batch's recipient).
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    device_count = models.PositiveIntegerField(_("devices"), default=0)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("claim request")
        verbose_name_plural = _("claim requests")
        constraints = [
            models.UniqueConstraint(
                fields=["batch"],
                condition=models.Q(state="open"),
                name="claim_request_one_open_per_batch",
            )
        ]
        indexes = [models.Index(fields=["creator", "state"], name="claim_request_creator_state")]

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.pk}"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Requests to the actor's subtree (as sender) or from it (as claimer)."""
        path = actor.organisation_path
        return queryset.filter(
            subtree_filter("creator__path", path) | subtree_filter("organisation__path", path)
        )


class OwnershipTransfer(models.Model):
    """One hand-over of devices to a partner or a sub-organisation ("Besitz übernehmen").

    The devices change owner at once and arrive UNCLAIMED: the receiver claims them, the
    previous owner loses them (and their keys) in the same transaction.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    sender = models.ForeignKey(
        Organisation, verbose_name=_("from"), on_delete=models.PROTECT, related_name="+"
    )
    receiver = models.ForeignKey(
        Organisation, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason / reference"), max_length=200)
    device_count = models.PositiveIntegerField(_("devices"), default=0)
    #: Names of the organisations that owned the devices before (a sub-organisation when
    #: devices are taken back), for the list.
    previous_owners = models.JSONField(default=list)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("ownership transfer")
        verbose_name_plural = _("ownership transfers")

    def __str__(self) -> str:
        return f"transfer #{self.pk}"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Hand-overs sent from or received by the actor's subtree."""
        path = actor.organisation_path
        return queryset.filter(
            subtree_filter("sender__path", path) | subtree_filter("receiver__path", path)
        )
