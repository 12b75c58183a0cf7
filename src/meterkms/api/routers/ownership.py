"""``/api/v1/ownership``: hand devices over ("Besitz übernehmen") and list hand-overs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from meterkms.api import filtering
from meterkms.api.errors import ERRORS, ErrorOut
from meterkms.api.permissions import require
from meterkms.api.schemas.batches import TransferIn, TransferOut, TransferPage
from meterkms.batches import queries, services
from meterkms.batches.filters import TransferFilter
from meterkms.batches.models import OwnershipTransfer
from meterkms.batches.serials import entries_from_list
from meterkms.core.pagination import paginate
from meterkms.organisations.permissions import Perm
from meterkms.organisations.queries import recipient_choices

router = Router(tags=["ownership"])

TransferQuery = filtering.query_schema(TransferFilter, "TransferQuery")
MAX_DEVICES = 10_000


def transfer_out(transfer: OwnershipTransfer) -> dict[str, Any]:
    """The API representation of a hand-over."""
    return {
        "id": transfer.pk,
        "sender": {"id": transfer.sender_id, "name": transfer.sender.name},
        "receiver": {"id": transfer.receiver_id, "name": transfer.receiver.name},
        "reason": transfer.reason,
        "device_count": transfer.device_count,
        "previous_owners": transfer.previous_owners,
        "created_at": transfer.created_at,
    }


@router.get("/transfers", response={200: TransferPage, **ERRORS}, summary="List hand-overs")
def list_transfers(request: HttpRequest, params: Query[TransferQuery]) -> dict[str, Any]:  # type: ignore[valid-type]
    """Hand-overs sent from or received by your tree, newest first."""
    actor = request.auth
    require(actor, Perm.OWNERSHIP_TRANSFER)
    rows = filtering.apply(TransferFilter, params, queries.transfers(actor), actor=actor)
    page = paginate(rows, limit=params.limit, offset=params.offset)
    return {
        "count": page.total,
        "count_exact": page.exact,
        "offset": page.offset,
        "limit": page.limit,
        "items": [transfer_out(transfer) for transfer in page.items],
    }


@router.post(
    "/transfers",
    response={201: TransferOut, **ERRORS, 409: ErrorOut},
    summary="Hand devices over",
)
def create_transfer(request: HttpRequest, payload: TransferIn) -> Status:
    """Give devices to a partner or an organisation of your tree (your own organisation takes
    them back from a sub-organisation). They arrive UNCLAIMED; you lose them at once."""
    actor = request.auth
    require(actor, Perm.OWNERSHIP_TRANSFER)
    receiver = recipient_choices(actor).filter(pk=payload.receiver).first()
    transfer = services.transfer_ownership(
        actor=actor,
        receiver=receiver,  # type: ignore[arg-type]
        reason=payload.reason,
        device_ids=payload.devices[:MAX_DEVICES],
        serials=entries_from_list(payload.serials, source="serials"),
    )
    return Status(201, transfer_out(queries.transfers(actor).get(pk=transfer.pk)))
