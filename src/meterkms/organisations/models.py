"""Organisations form a tree; a user sees their organisation and everything below it.

Partner links join organisations of different trees; invitations bring people into one.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from meterkms.core import tenancy
from meterkms.core.fields import BinaryOrderCharField, prefix_bounds
from meterkms.organisations.permissions import Role

if TYPE_CHECKING:
    from meterkms.core.tenancy import Actor

#: Separator of the materialised path; a path is ``<root hex>/<child hex>/…/``.
PATH_SEP = "/"


def subtree_filter(field: str, path: str) -> models.Q:
    """A Q matching rows whose ``field`` (a materialised path) lies in the subtree at ``path``.

    A range on a byte-ordered column, so both databases answer it from the index.
    """
    bounds = prefix_bounds(path)
    if bounds is None:
        return models.Q(pk__in=[])
    low, high = bounds
    return models.Q(**{f"{field}__gte": low, f"{field}__lt": high})


class Organisation(models.Model):
    """A tenant: manufacturer, distributor, utility or installer, placed in a tree.

    ``path`` is the materialised path (ancestors' ids and its own, hex, ``/``-separated), so
    "the subtree of X" is one indexed range query on ``path``. It is derived from ``parent``
    and rewritten for the whole subtree when an organisation moves (services.move).
    """

    tenancy_kind = tenancy.TENANT_OWNED

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    path = BinaryOrderCharField(max_length=2000, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    customer_reference = models.CharField(_("your reference"), max_length=200, blank=True)
    may_create_organisations = models.BooleanField(
        _("may create other organisations"), default=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = tenancy.TenantManager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """An actor sees their own organisation and its descendants."""
        return queryset.filter(subtree_filter("path", actor.organisation_path))

    def compute_path(self) -> str:
        """The path this organisation gets under its current parent."""
        own = self.id.hex + PATH_SEP
        return (self.parent.path + own) if self.parent_id else own

    def contains(self, other: Organisation) -> bool:
        """True when ``other`` is this organisation or one of its descendants."""
        return other.path.startswith(self.path)


class Partnership(models.Model):
    """A symmetric partner link between two organisations of different trees.

    Stored once per pair, with ``first.id < second.id`` (a check constraint) and a unique
    constraint on the pair, so a link cannot exist twice, not even as its mirror image.
    Both sides see it (``scope_queryset``) and either side may remove it. Partners are valid
    recipients of batches and device hand-overs (``queries.recipient_choices``).
    """

    tenancy_kind = tenancy.TENANT_OWNED

    first = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = tenancy.TenantManager()

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="partnership_pair_unique"),
            models.CheckConstraint(
                condition=models.Q(first__lt=models.F("second")), name="partnership_pair_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first} ⇄ {self.second}"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Links with either side in the actor's subtree: both partners see the link."""
        path = actor.organisation_path
        return queryset.filter(
            subtree_filter("first__path", path) | subtree_filter("second__path", path)
        )

    def other_side(self, organisation: Organisation) -> Organisation:
        """The partner of ``organisation`` in this link."""
        return self.second if self.first_id == organisation.pk else self.first


class InvitationState(models.TextChoices):
    """Where an invitation stands; derived from its timestamps, never stored."""

    PENDING = "pending", _("pending")
    ACCEPTED = "accepted", _("accepted")
    EXPIRED = "expired", _("expired")
    REVOKED = "revoked", _("revoked")


class Invitation(models.Model):
    """An invitation of a person into an organisation with a role, sent by email.

    The link carries a random token of 256 bits; only its SHA-256 is stored in
    ``token_hash``. Resending replaces the hash (the old link dies); accepting and revoking
    clear it, so a stored hash always belongs to the one link that may still work. The
    state is derived: accepted, revoked, expired (``expires_at`` passed) or pending.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField(_("email"), max_length=254)
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices())
    language = models.CharField(_("language"), max_length=5, default="de")
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    send_count = models.PositiveIntegerField(default=0)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    user = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = tenancy.TenantManager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Invitations into the actor's organisation subtree."""
        return queryset.filter(subtree_filter("organisation__path", actor.organisation_path))

    @property
    def state(self) -> str:
        """pending, accepted, expired or revoked, as of now."""
        if self.accepted_at is not None:
            return InvitationState.ACCEPTED.value
        if self.revoked_at is not None:
            return InvitationState.REVOKED.value
        if self.expires_at <= timezone.now():
            return InvitationState.EXPIRED.value
        return InvitationState.PENDING.value

    @property
    def state_label(self) -> str:
        return str(InvitationState(self.state).label)

    @property
    def role_label(self) -> str:
        try:
            return Role(self.role).label
        except ValueError:
            return self.role
