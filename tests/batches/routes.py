"""The routes of batches, claims and hand-overs in the URL walk."""

from __future__ import annotations

import secrets
from typing import Any

from meterkms.accounts.models import User
from meterkms.batches.models import Batch, ClaimRequest
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Perm
from tests.support.personas import World, make_org
from tests.support.urlwalk import Route, register

MISSING = 987_654_321


def _tree(world: World, persona: User, kind: str) -> tuple[Organisation, Organisation]:
    """``(sender, recipient)`` inside the persona's tree (own) or the other tree (foreign)."""
    mine = persona.organisation_id != world.org_b.pk
    if (kind == "own") == mine:
        return world.org_a, world.org_a_child
    return world.org_b, make_org(f"B depot {secrets.token_hex(3)}", parent=world.org_b)


def _batch(world: World, persona: User, kind: str, **fields: Any) -> Batch:
    sender, recipient = _tree(world, persona, kind)
    return Batch._base_manager.create(
        reference=f"WALK-{secrets.token_hex(4)}", creator=sender, recipient=recipient, **fields
    )


def batch_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    if kind == "missing":
        return {"batch_id": MISSING}
    return {"batch_id": _batch(world, persona, kind).pk}


def request_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    if kind == "missing":
        return {"request_id": MISSING}
    batch = _batch(world, persona, kind, needs_confirmation=True, confirmation_state="requested")
    claim = ClaimRequest._base_manager.create(
        batch=batch, creator=batch.creator, organisation=batch.recipient, device_count=0
    )
    return {"request_id": claim.pk}


def _recipient(world: World, persona: User | None) -> dict[str, Any]:
    own = world.org_b if persona and persona.organisation_id == world.org_b.pk else world.org_a
    return {"reference": "walk", "recipient": str(own.pk), "serials": ["NOPE"]}


register(
    Route("web:batches", perm=Perm.BATCHES_READ),
    Route("web:batch_detail", perm=Perm.BATCHES_READ, target=batch_target),
    Route("web:batch_create", perm=Perm.BATCHES_CREATE),
    Route(
        "web:batch_create",
        method="POST",
        perm=Perm.BATCHES_CREATE,
        body=lambda w, u: {"reference": "", "serials": "X1"},
    ),
    Route(
        "web:batch_from_selection",
        method="POST",
        perm=Perm.BATCHES_CREATE,
        body=lambda w, u: {"device": ["1", "2"]},
    ),
    Route("web:batch_offers", perm=Perm.DEVICES_CLAIM),
    Route(
        "web:batch_claim", method="POST", perm=Perm.DEVICES_CLAIM, target=batch_target, ok=(302,)
    ),
    Route(
        "web:device_claim",
        method="POST",
        perm=Perm.DEVICES_CLAIM,
        ok=(302,),
        body=lambda w, u: {"device": [str(MISSING)]},
    ),
    Route("web:claim_requests", perm=Perm.BATCHES_READ),
    Route(
        "web:claim_confirm",
        method="POST",
        perm=Perm.BATCHES_CONFIRM,
        target=request_target,
        ok=(302,),
    ),
    Route(
        "web:claim_reject",
        method="POST",
        perm=Perm.BATCHES_CONFIRM,
        target=request_target,
        ok=(302,),
        body=lambda w, u: {"note": "walk"},
    ),
    Route("web:ownership", perm=Perm.OWNERSHIP_TRANSFER),
    Route(
        "web:ownership",
        method="POST",
        perm=Perm.OWNERSHIP_TRANSFER,
        body=lambda w, u: {"receiver": "", "reason": "", "serials": "X1"},
    ),
    Route("api:list_batches", perm=Perm.BATCHES_READ),
    Route(
        "api:create_batch",
        method="POST",
        perm=Perm.BATCHES_CREATE,
        json=True,
        ok=(422,),
        body=_recipient,
    ),
    Route("api:get_batch", perm=Perm.BATCHES_READ, target=batch_target),
    Route("api:list_batch_devices", perm=Perm.BATCHES_READ, target=batch_target),
    Route(
        "api:claim_batch",
        method="POST",
        perm=Perm.DEVICES_CLAIM,
        target=batch_target,
        ok=(409,),
    ),
    Route(
        "api:claim_devices",
        method="POST",
        perm=Perm.DEVICES_CLAIM,
        json=True,
        ok=(404,),
        body=lambda w, u: {"devices": [MISSING]},
    ),
    Route("api:list_claim_requests", perm=Perm.BATCHES_READ),
    Route(
        "api:confirm_claim_request",
        method="POST",
        perm=Perm.BATCHES_CONFIRM,
        target=request_target,
        json=True,
        body=lambda w, u: {"note": "walk"},
    ),
    Route(
        "api:reject_claim_request",
        method="POST",
        perm=Perm.BATCHES_CONFIRM,
        target=request_target,
        json=True,
        body=lambda w, u: {},
    ),
    Route("api:list_transfers", perm=Perm.OWNERSHIP_TRANSFER),
    Route(
        "api:create_transfer",
        method="POST",
        perm=Perm.OWNERSHIP_TRANSFER,
        json=True,
        ok=(422,),
        body=lambda w, u: {"receiver": str((u or w.alice).organisation_id), "reason": ""},
    ),
)
