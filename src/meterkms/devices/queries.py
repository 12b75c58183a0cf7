"""Reads of the device catalogue used in several places (scope, listing, counts)."""

from __future__ import annotations

from typing import Any

from django.db import models

from meterkms.devices.enums import ClaimStatus
from meterkms.organisations.models import Organisation, subtree_filter


def subtree_ids(actor: Any) -> list[Any]:
    """Ids of the organisations in the actor's subtree, memoised on the actor object."""
    cached = getattr(actor, "_meterkms_subtree_ids", None)
    if cached is None:
        cached = list(
            Organisation._base_manager.filter(
                subtree_filter("path", actor.organisation_path)
            ).values_list("id", flat=True)
        )
        try:
            actor._meterkms_subtree_ids = cached
        except AttributeError:  # frozen actors (API tokens) are cheap to recompute
            pass
    return cached


def _has_offers(actor: Any, organisations: list[Any]) -> bool:
    from meterkms.devices.models import Device

    cached = getattr(actor, "_meterkms_has_offers", None)
    if cached is None:
        cached = Device._base_manager.filter(claimable_by_id__in=organisations).exists()
        try:
            actor._meterkms_has_offers = cached
        except AttributeError:
            pass
    return bool(cached)


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
