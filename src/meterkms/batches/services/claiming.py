"""Claiming devices and batches, and deciding claim requests ("Gerät/Versandlos übernehmen").

Claims cross tenants on purpose: a batch addressed to the claimer's organisation holds
devices another organisation owns. Each service reads the devices with plain SQL, checks
that the actor's subtree is the recipient (or the owner), locks the batches involved, and
moves the devices with the conditional updates of :mod:`meterkms.batches.claims`: when two
claims race, exactly one wins and the other gets a :class:`~meterkms.batches.claims.Conflict`
(HTTP 409). Lock order everywhere: batch rows (by id), devices, claim request, audit head.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.batches import bulk, claims
from meterkms.batches.claims import Conflict, Step
from meterkms.batches.models import Batch, ClaimRequest, ConfirmationState
from meterkms.batches.services.common import MAX_DETAILS, clean_text, subtree_values, user_of
from meterkms.core.errors import DomainError, NotFound, PermissionDenied
from meterkms.devices.models import Device
from meterkms.devices.services import history
from meterkms.organisations.permissions import Perm

NOTE_MAX = 200


@dataclass
class ClaimOutcome:
    """What a claim did: devices now CLAIMED, devices now PENDING, requests opened or joined."""

    claimed: int = 0
    pending: int = 0
    requests: list[ClaimRequest] = field(default_factory=list)


@transaction.atomic
def claim_devices(*, actor: Any, device_ids: Sequence[int]) -> ClaimOutcome:
    """Claim the given devices: offered to the actor's subtree, or its own unclaimed ones.

    All or nothing: when one device cannot be claimed (claimed already, waiting for
    confirmation, offered to someone else) nothing changes and the refusal names each one.
    Ids the actor cannot see answer like ids that do not exist.
    """
    if not actor.has(Perm.DEVICES_CLAIM):
        raise PermissionDenied()
    wanted = {int(pk) for pk in device_ids}
    if not wanted:
        raise DomainError("invalid", _("Select the devices to claim first."))
    visible = subtree_values(actor)
    rows = [
        row
        for row in bulk.rows_by_id(sorted(wanted))
        if row.owner in visible or row.claimable_by in visible
    ]
    if len(rows) != len(wanted):
        raise NotFound()
    return _claim(actor, rows, visible)


@transaction.atomic
def claim_batch(*, actor: Any, batch: Batch) -> ClaimOutcome:
    """Claim every device of ``batch`` still offered ("Versandlos übernehmen")."""
    if not actor.has(Perm.DEVICES_CLAIM):
        raise PermissionDenied()
    visible = subtree_values(actor)
    recipient = bulk.org_value(batch.recipient_id)
    if recipient not in visible:
        raise DomainError("conflict", _("This batch is not addressed to your organisation."))
    _lock([batch.pk])
    rows = bulk.rows_of_batch(batch.pk, claims.UNCLAIMED, recipient)
    if not rows:
        raise Conflict(_("Nothing is left to claim in this batch."))
    return _claim(actor, rows, visible)


def _refusal(row: bulk.DeviceRow) -> str:
    if row.status == claims.CLAIMED:
        return _("claimed already")
    if row.status == claims.PENDING:
        return _("the claim waits for confirmation")
    return _("offered to another organisation in an open batch")


def _claim(actor: Any, rows: list[bulk.DeviceRow], visible: set[Any]) -> ClaimOutcome:
    offers: dict[tuple[int, Any], list[int]] = defaultdict(list)
    own: dict[Any, list[int]] = defaultdict(list)
    refused = []
    for row in rows:
        if row.status != claims.UNCLAIMED:
            refused.append(row)
        elif row.claimable_by in visible and row.batch is not None:
            offers[(row.batch, row.claimable_by)].append(row.id)
        elif row.claimable_by is None and row.owner in visible:
            own[row.owner].append(row.id)
        else:
            refused.append(row)
    if refused:
        message = ngettext(
            "%(n)d device cannot be claimed: nothing was claimed.",
            "%(n)d devices cannot be claimed: nothing was claimed.",
            len(refused),
        ) % {"n": len(refused)}
        details = [
            {"serial": row.serial, "message": _refusal(row)} for row in refused[:MAX_DETAILS]
        ]
        raise Conflict(message, details)
    outcome = ClaimOutcome()
    claimed: list[int] = []
    batches = _lock(sorted({batch_id for batch_id, _recipient in offers}))
    for (batch_id, recipient), ids in sorted(offers.items(), key=lambda item: item[0][0]):
        batch = batches[batch_id]
        if batch.needs_confirmation:
            claims.apply(Step.REQUEST, ids, recipient=recipient, batch=batch_id)
            request = _join_request(batch, actor, len(ids))
            history(ids, "claim.requested", actor, batch=batch.reference, request=request.pk)
            batch.confirmation_state = ConfirmationState.REQUESTED
            outcome.pending += len(ids)
            outcome.requests.append(request)
        else:
            claims.apply(Step.CLAIM_OFFER, ids, recipient=recipient, batch=batch_id)
            history(ids, "device.claimed", actor, batch=batch.reference)
            claimed.extend(ids)
        batch.is_open = bulk.has_offers(batch_id)
        batch.save(update_fields=["confirmation_state", "is_open"])
    for owner, ids in own.items():
        claims.apply(Step.CLAIM_OWN, ids, owner=owner)
        history(ids, "device.claimed", actor)
        claimed.extend(ids)
    outcome.claimed = len(claimed)
    _audit(actor, claimed, outcome.requests, batches)
    return outcome


def _lock(batch_ids: list[int]) -> dict[int, Batch]:
    """The batches, row-locked in id order (claims of one batch run one after the other)."""
    locked = Batch._base_manager.select_for_update().filter(pk__in=batch_ids).order_by("pk")
    return {batch.pk: batch for batch in locked}


def _join_request(batch: Batch, actor: Any, count: int) -> ClaimRequest:
    """The batch's open request grown by ``count`` devices, or a new one (batch is locked)."""
    open_requests = ClaimRequest._base_manager.filter(batch=batch, state=ClaimRequest.State.OPEN)
    if open_requests.update(device_count=F("device_count") + count):
        return open_requests.get()
    return ClaimRequest._base_manager.create(
        batch=batch,
        creator_id=batch.creator_id,
        organisation_id=batch.recipient_id,
        requested_by=user_of(actor),
        device_count=count,
    )


def _audit(
    actor: Any, claimed: list[int], requests: list[ClaimRequest], batches: dict[int, Batch]
) -> None:
    references = sorted(batch.reference for batch in batches.values())
    if claimed:
        target: Any = None
        if len(claimed) == 1:
            target = Device._base_manager.get(pk=claimed[0])
        elif len(batches) == 1:
            target = next(iter(batches.values()))
        record(
            Action.DEVICE_CLAIMED,
            actor=actor,
            target=target,
            data={"devices": len(claimed), "batches": references},
        )
    for request in requests:
        record(
            Action.CLAIM_REQUESTED,
            actor=actor,
            target=request,
            data={"devices": request.device_count, "batch": request.batch.reference},
        )


def _decidable(actor: Any, request: ClaimRequest) -> None:
    """Only the sender's side (the batch creator's subtree) decides a claim request."""
    if not actor.has(Perm.BATCHES_CONFIRM):
        raise PermissionDenied()
    if bulk.org_value(request.creator_id) not in subtree_values(actor):
        raise PermissionDenied(_("Only the organisation that sent the batch decides its claims."))


@transaction.atomic
def confirm_request(*, actor: Any, request: ClaimRequest, note: str = "") -> ClaimRequest:
    """Confirm: the request's devices become CLAIMED and owned by the recipient."""
    return _decide(actor, request, note, confirm=True)


@transaction.atomic
def reject_request(*, actor: Any, request: ClaimRequest, note: str = "") -> ClaimRequest:
    """Reject: the devices return to the sender's stock, UNCLAIMED and no longer offered."""
    return _decide(actor, request, note, confirm=False)


def _decide(actor: Any, request: ClaimRequest, note: str, *, confirm: bool) -> ClaimRequest:
    _decidable(actor, request)
    note = clean_text(note, field_name="note", max_length=NOTE_MAX, required=False)
    batch = _lock([request.batch_id])[request.batch_id]
    state = ClaimRequest.State.CONFIRMED if confirm else ClaimRequest.State.REJECTED
    decided = ClaimRequest._base_manager.filter(
        pk=request.pk, state=ClaimRequest.State.OPEN
    ).update(state=state, decided_at=timezone.now(), decided_by=user_of(actor), note=note)
    if not decided:
        raise Conflict(_("This claim request has been decided already."))
    recipient = bulk.org_value(batch.recipient_id)
    ids = [row.id for row in bulk.rows_of_batch(batch.pk, claims.PENDING, recipient)]
    step = Step.CONFIRM if confirm else Step.REJECT
    claims.apply(step, ids, recipient=recipient, batch=batch.pk)
    action = "claim.confirmed" if confirm else "claim.rejected"
    history(ids, action, actor, batch=batch.reference, request=request.pk, note=note)
    batch.confirmation_state = (
        ConfirmationState.CONFIRMED if confirm else ConfirmationState.REJECTED
    )
    batch.is_open = bulk.has_offers(batch.pk)
    batch.save(update_fields=["confirmation_state", "is_open"])
    record(
        Action.CLAIM_CONFIRMED if confirm else Action.CLAIM_REJECTED,
        actor=actor,
        target=request,
        data={"devices": len(ids), "batch": batch.reference, "note": note},
    )
    request.refresh_from_db()
    return request
