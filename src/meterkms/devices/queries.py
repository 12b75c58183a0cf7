"""Reads of the device catalogue used in several places (scope, listing, counts)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from django.db import models

from meterkms.devices.enums import ClaimStatus
from meterkms.organisations.models import Organisation, subtree_filter


def _memo[T](actor: Any, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per actor object (a request's user); frozen actors recompute."""
    cached = getattr(actor, name, None)
    if cached is None:
        cached = compute()
        with contextlib.suppress(AttributeError):
            setattr(actor, name, cached)
    return cached


def subtree_ids(actor: Any) -> list[Any]:
    """Ids of the organisations in the actor's subtree."""
    return _memo(
        actor,
        "_meterkms_subtree_ids",
        lambda: list(
            Organisation._base_manager.filter(
                subtree_filter("path", actor.organisation_path)
            ).values_list("id", flat=True)
        ),
    )


def _has_offers(actor: Any, organisations: list[Any]) -> bool:
    from meterkms.devices.models import Device

    return _memo(
        actor,
        "_meterkms_has_offers",
        lambda: Device._base_manager.filter(claimable_by_id__in=organisations).exists(),
    )


def scope_devices(queryset: models.QuerySet, actor: Any) -> models.QuerySet:
    """Devices the actor may see: owned in its subtree, or offered to it in an open batch.

    The offer branch is only added when offers exist, so the common case stays a plain
    ``owner_id IN (…)`` that the ``(owner, serial)`` index serves in serial order.
    """
    organisations = subtree_ids(actor)
    visible = models.Q(owner_id__in=organisations)
    if _has_offers(actor, organisations):
        visible |= models.Q(claimable_by_id__in=organisations)
    return queryset.filter(visible)


def owned_by_subtree(queryset: models.QuerySet, actor: Any) -> models.QuerySet:
    """Of ``queryset``, the devices owned in the actor's subtree (no offers)."""
    return queryset.filter(owner_id__in=subtree_ids(actor))


def claimed_by_subtree(queryset: models.QuerySet, actor: Any) -> models.QuerySet:
    """Devices CLAIMED by the actor's subtree: the only ones whose keys may leave."""
    return owned_by_subtree(queryset, actor).filter(claim_status=ClaimStatus.CLAIMED.value)


def catalogue_rows(actor: Any) -> models.QuerySet:
    """The actor's devices with what lists show; labels limited to the actor's tree."""
    from meterkms.devices.models import Device, Label

    labels = Label.objects.visible_to(actor)
    return (
        Device.objects.visible_to(actor)
        .select_related("device_type", "batch")
        .prefetch_related(models.Prefetch("labels", queryset=labels))
        .order_by("serial")
    )
