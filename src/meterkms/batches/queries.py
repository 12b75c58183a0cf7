"""Reads of batches, claim requests and hand-overs used by the web pages and the API."""

from __future__ import annotations

from typing import Any

from django.db import models

from meterkms.batches.models import Batch, ClaimRequest, OwnershipTransfer
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.models import Device
from meterkms.organisations.models import subtree_filter
from meterkms.organisations.permissions import Perm


def batch_rows(actor: Any) -> models.QuerySet[Batch]:
    """The actor's batches (created in or addressed to its subtree), newest first."""
    return (
        Batch.objects.visible_to(actor)
        .select_related("recipient", "creator", "created_by")
        .order_by("-created_at", "-pk")
    )


def claimable_count() -> models.Subquery:
    """Per batch: how many of its devices are still offered unclaimed to its recipient."""
    devices = (
        Device._base_manager.filter(
            batch=models.OuterRef("pk"),
            claimable_by=models.OuterRef("recipient"),
            claim_status=ClaimStatus.UNCLAIMED.value,
        )
        .order_by()
        .values("batch")
        .annotate(n=models.Count("pk"))
        .values("n")
    )
    return models.Subquery(devices, output_field=models.IntegerField())


def offered_batches(actor: Any) -> models.QuerySet[Batch]:
    """Open batches addressed to the actor's subtree with devices left to claim."""
    return (
        batch_rows(actor)
        .filter(subtree_filter("recipient__path", actor.organisation_path), is_open=True)
        .annotate(claimable=models.functions.Coalesce(claimable_count(), 0))
        .filter(claimable__gt=0)
    )


def is_recipient(actor: Any, batch: Batch) -> bool:
    """True when the batch is addressed to the actor's subtree."""
    return batch.recipient.path.startswith(actor.organisation_path)


def is_sender(actor: Any, batch_or_request: Batch | ClaimRequest) -> bool:
    """True when the batch (or the request's batch) was created in the actor's subtree."""
    return batch_or_request.creator.path.startswith(actor.organisation_path)


def claim_requests(actor: Any) -> models.QuerySet[ClaimRequest]:
    """Claim requests to or from the actor's subtree, newest first.

    ``to_decide`` marks the rows whose batch the actor's subtree sent (its side decides).
    """
    sent = subtree_filter("creator__path", actor.organisation_path)
    return (
        ClaimRequest.objects.visible_to(actor)
        .select_related("batch", "creator", "organisation", "requested_by", "decided_by")
        .annotate(to_decide=models.ExpressionWrapper(sent, output_field=models.BooleanField()))
        .order_by("-created_at", "-pk")
    )


def open_requests_to_decide(actor: Any, limit: int = 5) -> list[ClaimRequest]:
    """Open requests the actor may decide (its subtree sent the batch): the bell's content.

    One query, and none at all for actors without ``batches:confirm``. Returns at most
    ``limit + 1`` rows, so the caller can tell "more".
    """
    if not actor.has(Perm.BATCHES_CONFIRM):
        return []
    # The sender side of the scope only: the rows are a subset of visible_to(actor).
    rows = (
        ClaimRequest._base_manager.filter(
            subtree_filter("creator__path", actor.organisation_path),
            state=ClaimRequest.State.OPEN,
        )
        .select_related("batch", "organisation")
        .order_by("-created_at", "-pk")
    )
    return list(rows[: limit + 1])


def transfers(actor: Any) -> models.QuerySet[OwnershipTransfer]:
    """Hand-overs from or to the actor's subtree, newest first."""
    return (
        OwnershipTransfer.objects.visible_to(actor)
        .select_related("sender", "receiver", "created_by")
        .order_by("-created_at", "-pk")
    )
