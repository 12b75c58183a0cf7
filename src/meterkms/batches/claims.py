"""The claim state machine: every change of a device's claim state, in one place.

A device's state is ``(claim_status, owner, claimable_by)``::

    UNCLAIMED ──offer (batch to R)──▶ UNCLAIMED, claimable_by=R ──claim by R──▶ CLAIMED, owner=R
        │   ▲                               │                                   ▲
        │   │                               └─claim by R, batch needs──▶ PENDING ┤ confirm
        │   └── hand-over (owner=receiver) ◀──────────────── CLAIMED             │
        └──claim by the owner──▶ CLAIMED            PENDING ──reject──▶ UNCLAIMED (offer withdrawn)

Each :class:`Transition` is applied with one conditional ``UPDATE … WHERE`` per chunk whose
``WHERE`` repeats the transition's source state. Two processes racing for the same device
therefore cannot both win: the second finds the row changed (PostgreSQL re-checks the
``WHERE`` after the first commits, even at READ COMMITTED; SQLite runs writers one at a
time) and updates nothing. :func:`apply` raises :class:`Conflict` when fewer rows changed
than were asked for, and the caller's transaction rolls back as a whole.

Keys may only leave for CLAIMED devices (``devices.queries.claimed_by_subtree``): an offered,
pending or handed-over device is UNCLAIMED or PENDING until its new owner holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from meterkms.core.errors import DomainError
from meterkms.core.sqlsets import member_of
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.labels import sync_label_links

UNCLAIMED = ClaimStatus.UNCLAIMED.value
PENDING = ClaimStatus.PENDING.value
CLAIMED = ClaimStatus.CLAIMED.value


class Conflict(DomainError):
    """Some devices changed state under us: another claim, confirmation or batch won."""

    def __init__(self, message: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(
            "conflict",
            message or _("Some devices changed in the meantime; nothing was changed."),
            details=details,
        )


class Step(StrEnum):
    """The transitions a device can take."""

    OFFER = "offer"  # into a batch for a recipient
    CLAIM_OWN = "claim_own"  # the owner claims its own unclaimed device
    CLAIM_OFFER = "claim_offer"  # the recipient claims; no confirmation needed
    REQUEST = "request"  # the recipient claims; the sender must confirm
    CONFIRM = "confirm"  # the sender confirms a request
    REJECT = "reject"  # the sender rejects a request: the offer is withdrawn
    HAND_OVER = "hand_over"  # ownership to a partner or sub-organisation, unclaimed


@dataclass(frozen=True)
class Transition:
    """Source states, target state, and the SQL that moves a device between them.

    ``guard`` and ``change`` are SQL fragments over ``devices_device`` with ``%s`` for the
    values named in ``guard_args`` / ``change_args`` (taken from :func:`apply`'s keywords).
    """

    step: Step
    sources: frozenset[str]
    target: str
    guard: str
    guard_args: tuple[str, ...]
    change: str
    change_args: tuple[str, ...]


_NOT_OFFERED = "claimable_by_id IS NULL"

TRANSITIONS: dict[Step, Transition] = {
    t.step: t
    for t in (
        Transition(
            Step.OFFER,
            frozenset({UNCLAIMED, CLAIMED}),
            UNCLAIMED,
            f"owner_id = %s AND {_NOT_OFFERED} AND claim_status IN ('{UNCLAIMED}', '{CLAIMED}')",
            ("owner",),
            f"claim_status = '{UNCLAIMED}', claimable_by_id = %s, batch_id = %s",
            ("recipient", "batch"),
        ),
        Transition(
            Step.CLAIM_OWN,
            frozenset({UNCLAIMED}),
            CLAIMED,
            f"owner_id = %s AND {_NOT_OFFERED} AND claim_status = '{UNCLAIMED}'",
            ("owner",),
            f"claim_status = '{CLAIMED}'",
            (),
        ),
        Transition(
            Step.CLAIM_OFFER,
            frozenset({UNCLAIMED}),
            CLAIMED,
            f"claimable_by_id = %s AND batch_id = %s AND claim_status = '{UNCLAIMED}'",
            ("recipient", "batch"),
            f"claim_status = '{CLAIMED}', owner_id = %s, claimable_by_id = NULL",
            ("recipient",),
        ),
        Transition(
            Step.REQUEST,
            frozenset({UNCLAIMED}),
            PENDING,
            f"claimable_by_id = %s AND batch_id = %s AND claim_status = '{UNCLAIMED}'",
            ("recipient", "batch"),
            f"claim_status = '{PENDING}'",
            (),
        ),
        Transition(
            Step.CONFIRM,
            frozenset({PENDING}),
            CLAIMED,
            f"claimable_by_id = %s AND batch_id = %s AND claim_status = '{PENDING}'",
            ("recipient", "batch"),
            f"claim_status = '{CLAIMED}', owner_id = %s, claimable_by_id = NULL",
            ("recipient",),
        ),
        Transition(
            Step.REJECT,
            frozenset({PENDING}),
            UNCLAIMED,
            f"claimable_by_id = %s AND batch_id = %s AND claim_status = '{PENDING}'",
            ("recipient", "batch"),
            f"claim_status = '{UNCLAIMED}', claimable_by_id = NULL",
            (),
        ),
        Transition(
            Step.HAND_OVER,
            frozenset({UNCLAIMED, CLAIMED}),
            UNCLAIMED,
            f"owner_id = %s AND {_NOT_OFFERED} AND claim_status IN ('{UNCLAIMED}', '{CLAIMED}')",
            ("owner",),
            f"claim_status = '{UNCLAIMED}', owner_id = %s, batch_id = NULL",
            ("receiver",),
        ),
    )
}

#: Every status change any transition makes (same-status steps move owner or offer only).
EDGES: frozenset[tuple[str, str]] = frozenset(
    (source, t.target) for t in TRANSITIONS.values() for source in t.sources
)


def allowed(source: str, target: str) -> bool:
    """True when some transition takes a device from status ``source`` to ``target``."""
    return (source, target) in EDGES


def apply(step: Step, ids: Sequence[int], **values: Any) -> int:
    """Move the devices ``ids`` along ``step``; all of them, or :class:`Conflict`.

    ``values`` are the raw database values the transition names (``owner``, ``recipient``,
    ``receiver``, ``batch``). Call inside the service's transaction: a conflict leaves the
    earlier chunks to its rollback.
    """
    transition = TRANSITIONS[step]
    change = [values[name] for name in transition.change_args]
    guard = [values[name] for name in transition.guard_args]
    moved = 0
    with connection.cursor() as cursor:
        for condition, params, count in member_of("id", sorted(set(ids)), arrays=False):
            cursor.execute(
                f"UPDATE devices_device SET {transition.change} "  # noqa: S608
                f"WHERE {condition} AND {transition.guard}",
                [*change, *params, *guard],
            )
            if cursor.rowcount != count:
                raise Conflict()
            moved += cursor.rowcount
    sync_label_links(ids)  # the label links' copies of owner and offer follow the devices
    return moved
