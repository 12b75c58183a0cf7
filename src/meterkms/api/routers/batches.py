"""``/api/v1/batches``: shipment batches — list, create, read, their devices, claim."""

from __future__ import annotations

from itertools import chain
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from meterkms.api import filtering
from meterkms.api.errors import ERRORS, ErrorOut
from meterkms.api.permissions import require
from meterkms.api.routers.devices import device_out
from meterkms.api.schemas.batches import BatchIn, BatchOut, BatchPage, ClaimOut
from meterkms.api.schemas.devices import DevicePage
from meterkms.batches import queries, services
from meterkms.batches.filters import BatchFilter
from meterkms.batches.models import Batch
from meterkms.batches.serials import entries_from_list, read_serials
from meterkms.core.pagination import paginate
from meterkms.devices.queries import catalogue_rows
from meterkms.organisations.permissions import Perm
from meterkms.organisations.queries import recipient_choices

router = Router(tags=["batches"])

BatchQuery = filtering.query_schema(BatchFilter, "BatchQuery")
CHANGE_ERRORS = {**ERRORS, 409: ErrorOut}


def batch_out(batch: Batch) -> dict[str, Any]:
    """The API representation of a batch (its organisations loaded by the queryset)."""
    return {
        "id": batch.pk,
        "reference": batch.reference,
        "label": batch.label,
        "creator": {"id": batch.creator_id, "name": batch.creator.name},
        "recipient": {"id": batch.recipient_id, "name": batch.recipient.name},
        "needs_confirmation": batch.needs_confirmation,
        "confirmation_state": batch.confirmation_state,
        "is_open": batch.is_open,
        "device_count": batch.device_count,
        "created_at": batch.created_at,
        "created_by": batch.created_by.name if batch.created_by_id else None,
    }


def outcome_out(outcome: services.ClaimOutcome) -> dict[str, Any]:
    """A claim's outcome with the requests it opened or joined."""
    from meterkms.api.routers.claims import request_out

    return {
        "claimed": outcome.claimed,
        "pending": outcome.pending,
        "requests": [request_out(request) for request in outcome.requests],
    }


@router.get("", response={200: BatchPage, **ERRORS}, summary="List batches")
def list_batches(request: HttpRequest, params: Query[BatchQuery]) -> dict[str, Any]:  # type: ignore[valid-type]
    """Batches your organisation's tree sent or received, newest first (the web list's filters)."""
    actor = request.auth
    require(actor, Perm.BATCHES_READ)
    rows = filtering.apply(BatchFilter, params, queries.batch_rows(actor), actor=actor)
    page = paginate(rows, limit=params.limit, offset=params.offset)
    return {
        "count": page.total,
        "count_exact": page.exact,
        "offset": page.offset,
        "limit": page.limit,
        "items": [batch_out(batch) for batch in page.items],
    }


@router.post("", response={201: BatchOut, **CHANGE_ERRORS}, summary="Create a batch")
def create_batch(request: HttpRequest, payload: BatchIn) -> Status:
    """Offer devices of your organisation to another organisation of your tree or a partner.

    Nothing is created while any serial number has a problem; every problem is listed.
    """
    actor = request.auth
    require(actor, Perm.BATCHES_CREATE)
    recipient = recipient_choices(actor).filter(pk=payload.recipient).first()
    serials = chain(
        entries_from_list(payload.serials, source="serials"),
        # The text of a serial file: read like an upload (BOM and a header line tolerated).
        read_serials([payload.serials_text.encode()], source="serials_text"),
    )
    batch = services.create_batch(
        actor=actor,
        reference=payload.reference,
        recipient=recipient,  # type: ignore[arg-type]
        serials=serials,
        needs_confirmation=payload.needs_confirmation,
        label=payload.label,
    )
    return Status(201, batch_out(queries.batch_rows(actor).get(pk=batch.pk)))


@router.get("/{int:batch_id}", response={200: BatchOut, **ERRORS}, summary="One batch")
def get_batch(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    """One batch; another tree's batch answers 404 like a missing one."""
    actor = request.auth
    require(actor, Perm.BATCHES_READ)
    return batch_out(get_object_or_404(queries.batch_rows(actor), pk=batch_id))


@router.get(
    "/{int:batch_id}/devices",
    response={200: DevicePage, **ERRORS},
    summary="The batch's devices you can see",
)
def list_batch_devices(
    request: HttpRequest, batch_id: int, limit: int | None = None, offset: int | None = None
) -> dict[str, Any]:
    """The batch's devices among those you see (offered to you, or still yours)."""
    actor = request.auth
    require(actor, Perm.BATCHES_READ)
    batch = get_object_or_404(queries.batch_rows(actor), pk=batch_id)
    page = paginate(catalogue_rows(actor).filter(batch=batch), limit=limit, offset=offset)
    return {
        "count": page.total,
        "count_exact": page.exact,
        "offset": page.offset,
        "limit": page.limit,
        "items": [device_out(device) for device in page.items],
    }


@router.post(
    "/{int:batch_id}/claim",
    response={200: ClaimOut, **CHANGE_ERRORS},
    summary="Claim a batch (Versandlos übernehmen)",
)
def claim_batch(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    """Claim every device still offered in the batch: CLAIMED, or PENDING when the sender
    confirms claims. 409 when nothing is left to claim or another claim won the race."""
    actor = request.auth
    require(actor, Perm.DEVICES_CLAIM)
    batch = get_object_or_404(queries.batch_rows(actor), pk=batch_id)
    return outcome_out(services.claim_batch(actor=actor, batch=batch))
