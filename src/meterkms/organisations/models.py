"""Organisations form a tree; a user sees their organisation and everything below it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from meterkms.core import tenancy
from meterkms.core.fields import BinaryOrderCharField, prefix_bounds

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
