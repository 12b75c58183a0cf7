"""``/api/v1/claims``: claim devices, list claim requests, confirm or reject them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router

from meterkms.api import filtering
from meterkms.api.errors import ERRORS, ErrorOut
from meterkms.api.permissions import require
from meterkms.api.schemas.batches import (
    ClaimOut,
    ClaimRequestOut,
    ClaimRequestPage,
    DecisionIn,
    DeviceClaimIn,
)
from meterkms.batches import queries, services
from meterkms.batches.filters import ClaimRequestFilter
from meterkms.batches.models import ClaimRequest
from meterkms.core.pagination import paginate
from meterkms.organisations.permissions import Perm

router = Router(tags=["claims"])

ClaimRequestQuery = filtering.query_schema(ClaimRequestFilter, "ClaimRequestQuery")
CHANGE_ERRORS = {**ERRORS, 409: ErrorOut}
MAX_DEVICES = 10_000


def request_out(claim: ClaimRequest) -> dict[str, Any]:
    """The API representation of a claim request."""
    return {
        "id": claim.pk,
        "batch_id": claim.batch_id,
        "batch_reference": claim.batch.reference,
        "organisation": {"id": claim.organisation_id, "name": claim.organisation.name},
        "state": claim.state,
        "device_count": claim.device_count,
        "created_at": claim.created_at,
        "decided_at": claim.decided_at,
        "note": claim.note,
    }


@router.post("/devices", response={200: ClaimOut, **CHANGE_ERRORS}, summary="Claim devices")
def claim_devices(request: HttpRequest, payload: DeviceClaimIn) -> dict[str, Any]:
    """Claim devices offered to your organisation (or your own unclaimed ones): all or none.

    409 names every device that cannot be claimed (claimed already, pending, offered to
    someone else); exactly one of several concurrent claims of a device wins.
    """
    from meterkms.api.routers.batches import outcome_out

    actor = request.auth
    require(actor, Perm.DEVICES_CLAIM)
    outcome = services.claim_devices(actor=actor, device_ids=payload.devices[:MAX_DEVICES])
    return outcome_out(outcome)


@router.get("/requests", response={200: ClaimRequestPage, **ERRORS}, summary="Claim requests")
def list_claim_requests(request: HttpRequest, params: Query[ClaimRequestQuery]) -> dict[str, Any]:  # type: ignore[valid-type]
    """Claim requests to your tree (to decide) and from it (their state), newest first."""
    actor = request.auth
    require(actor, Perm.BATCHES_READ)
    rows = filtering.apply(ClaimRequestFilter, params, queries.claim_requests(actor), actor=actor)
    page = paginate(rows, limit=params.limit, offset=params.offset)
    return {
        "count": page.total,
        "count_exact": page.exact,
        "offset": page.offset,
        "limit": page.limit,
        "items": [request_out(claim) for claim in page.items],
    }


def _decide(request: HttpRequest, request_id: int, note: str, *, confirm: bool) -> Any:
    actor = request.auth
    require(actor, Perm.BATCHES_CONFIRM)
    claim = get_object_or_404(queries.claim_requests(actor), pk=request_id)
    decide = services.confirm_request if confirm else services.reject_request
    decide(actor=actor, request=claim, note=note)
    return request_out(queries.claim_requests(actor).get(pk=claim.pk))


@router.post(
    "/requests/{int:request_id}/confirm",
    response={200: ClaimRequestOut, **CHANGE_ERRORS},
    summary="Confirm a claim request",
)
def confirm_claim_request(request: HttpRequest, request_id: int, payload: DecisionIn) -> Any:
    """The devices become CLAIMED and owned by the claiming organisation."""
    return _decide(request, request_id, payload.note, confirm=True)


@router.post(
    "/requests/{int:request_id}/reject",
    response={200: ClaimRequestOut, **CHANGE_ERRORS},
    summary="Reject a claim request",
)
def reject_claim_request(request: HttpRequest, request_id: int, payload: DecisionIn) -> Any:
    """The devices return to your organisation, UNCLAIMED and no longer offered."""
    return _decide(request, request_id, payload.note, confirm=False)
