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


def _subtree(actor: Any) -> tuple[list[Any], bool]:
    """Ids of the organisations in the actor's subtree, and whether devices are offered to
    any of them: one statement, once per actor object (every device list asks both)."""

    def read() -> tuple[list[Any], bool]:
        from meterkms.devices.models import Device

        offered = models.Exists(Device._base_manager.filter(claimable_by_id=models.OuterRef("pk")))
        rows = (
            Organisation._base_manager.filter(subtree_filter("path", actor.organisation_path))
            .order_by()
            .annotate(offered=offered)
            .values_list("id", "offered")
        )
        found = list(rows)
        return [pk for pk, _ in found], any(has for _, has in found)

    return _memo(actor, "_meterkms_subtree", read)


def subtree_ids(actor: Any) -> list[Any]:
    """Ids of the organisations in the actor's subtree."""
    return _subtree(actor)[0]


def scope_devices(queryset: models.QuerySet, actor: Any) -> models.QuerySet:
    """Devices the actor may see: owned in its subtree, or offered to it in an open batch.

    The offer branch is only added when offers exist, so the common case stays a plain
    ``owner_id IN (…)`` that the ``(owner, serial)`` index serves in serial order.
    """
    organisations, offers = _subtree(actor)
    visible = models.Q(owner_id__in=organisations)
    if offers:
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


LIST_COLUMNS = (
    "id",
    "serial",
    "device_type__name",
    "claim_status",
    "batch__reference",
    "dev_eui",
    "meter_address",
    "wmbus_manufacturer",
)


def list_rows(queryset: models.QuerySet, actor: Any) -> list[dict[str, Any]]:
    """The rows of a device page as plain values, labels of the actor's tree included.

    Two queries and no model instances: the hot path of the API list.
    """
    from meterkms.devices.models import Device

    rows = list(queryset.values(*LIST_COLUMNS))
    if not rows:
        return []
    through = Device.labels.through
    labels: dict[int, list[str]] = {row["id"]: [] for row in rows}
    # The subtree's ids are known already: one join (to the label's name), not two.
    pairs = (
        through._base_manager.filter(
            device_id__in=list(labels), label__organisation_id__in=subtree_ids(actor)
        )
        .order_by("label__name")
        .values_list("device_id", "label__name")
    )
    for device_id, name in pairs:
        labels[device_id].append(name)
    return [
        {
            "id": row["id"],
            "pk": row["id"],
            "serial": row["serial"],
            "device_type": row["device_type__name"],
            "claim_status": row["claim_status"],
            "labels": labels[row["id"]],
            "batch": row["batch__reference"],
            "dev_eui": row["dev_eui"],
            "meter_address": row["meter_address"],
            "wmbus_manufacturer": row["wmbus_manufacturer"],
        }
        for row in rows
    ]
