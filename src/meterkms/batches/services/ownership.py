"""Handing devices over ("Besitz übernehmen"): to a partner or sub-organisation, or back.

The devices change owner at once and arrive UNCLAIMED: the previous owner's subtree stops
seeing them (and any key download stops) in the same transaction, and the receiver claims
them like its own unclaimed devices. Devices on offer in an open batch or waiting for a
confirmation cannot be handed over; the hand-over also detaches them from their old batch,
so its reference does not follow them into the receiver's tree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.batches import bulk, claims
from meterkms.batches.models import OwnershipTransfer
from meterkms.batches.serials import Entry, Problem
from meterkms.batches.services.common import (
    Resolved,
    clean_text,
    refuse,
    resolve,
    subtree_values,
    user_of,
)
from meterkms.core.errors import NotFound, PermissionDenied
from meterkms.devices.services import history
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Perm
from meterkms.organisations.queries import recipient_choices

REASON_MAX = 200


@transaction.atomic
def transfer_ownership(
    *,
    actor: Any,
    receiver: Organisation,
    reason: str,
    device_ids: Sequence[int] = (),
    serials: Iterable[Entry | Problem] = (),
) -> OwnershipTransfer:
    """Give devices of the actor's subtree to ``receiver`` (a partner, an organisation of the
    tree, or the actor's own organisation to take them back from a sub-organisation).

    Devices come as ids (a selection; ids the actor cannot see answer 404) and/or as serial
    numbers (every problem reported with its line and column). All or nothing.
    """
    if not actor.has(Perm.OWNERSHIP_TRANSFER):
        raise PermissionDenied()
    reason = clean_text(reason, field_name="reason", max_length=REASON_MAX, required=True)
    if receiver is None or not recipient_choices(actor).filter(pk=receiver.pk).exists():
        raise refuse("receiver", _("Choose an organisation of your tree or one of your partners."))
    visible = subtree_values(actor)
    resolved = resolve(serials, visible=visible, prefer_owner=bulk.org_value(actor.organisation_id))
    rows = {row.id: row for _entry, row in resolved.devices}
    rows.update(_selected(device_ids, visible))
    target = bulk.org_value(receiver.pk)
    _check(resolved, rows, visible, target)
    if resolved.problems:
        raise resolved.refusal()
    if not rows:
        raise refuse("serials", _("Select devices or enter their serial numbers."))
    return _hand_over(actor, list(rows.values()), receiver, reason)


def _hand_over(
    actor: Any, rows: list[bulk.DeviceRow], receiver: Organisation, reason: str
) -> OwnershipTransfer:
    """Move the checked devices, owner by owner, and record the hand-over."""
    by_owner: dict[Any, list[int]] = defaultdict(list)
    for row in rows:
        by_owner[row.owner].append(row.id)
    names = _names(list(by_owner))
    transfer = OwnershipTransfer._base_manager.create(
        sender_id=actor.organisation_id,
        receiver=receiver,
        reason=reason,
        device_count=len(rows),
        previous_owners=sorted(names.values()),
        created_by=user_of(actor),
    )
    target = bulk.org_value(receiver.pk)
    for owner, ids in by_owner.items():
        claims.apply(claims.Step.HAND_OVER, ids, owner=owner, receiver=target)
        history(
            ids,
            "ownership.transferred",
            actor,
            previous_owner=names.get(owner, ""),
            receiver=receiver.name,
            reason=reason,
            transfer=transfer.pk,
        )
    record(
        Action.OWNERSHIP_TRANSFERRED,
        actor=actor,
        target=transfer,
        data={
            "devices": len(rows),
            "receiver": receiver.name,
            "previous_owners": transfer.previous_owners,
            "reason": reason,
        },
    )
    return transfer


def _selected(device_ids: Sequence[int], visible: set[Any]) -> dict[int, bulk.DeviceRow]:
    wanted = {int(pk) for pk in device_ids}
    rows = {
        row.id: row
        for row in bulk.rows_by_id(sorted(wanted))
        if row.owner in visible or row.claimable_by in visible
    }
    if len(rows) != len(wanted):
        raise NotFound()
    return rows


def _check(
    resolved: Resolved, rows: dict[int, bulk.DeviceRow], visible: set[Any], target: Any
) -> None:
    """A problem per device that cannot go: not the subtree's, on offer, pending, or arrived."""
    entries = {row.id: entry for entry, row in resolved.devices}
    for row in rows.values():
        if row.owner not in visible:
            message = _("the device belongs to another organisation")
        elif row.claimable_by is not None or row.status == claims.PENDING:
            message = _("the device is in an open batch")
        elif row.owner == target:
            message = _("the device belongs to the receiver already")
        else:
            continue
        entry = entries.get(row.id)
        resolved.problems.append(
            Problem(
                entry.line if entry else 0,
                entry.column if entry else 0,
                entry.source if entry else "selection",
                message,
                row.serial,
            )
        )


def _names(owners: list[Any]) -> dict[Any, str]:
    """Names of the previous owners, keyed by their raw database id."""
    pks = Organisation._base_manager.filter(pk__in=owners).values_list("pk", "name")
    return {bulk.org_value(pk): name for pk, name in pks}
