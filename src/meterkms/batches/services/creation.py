"""Creating a shipment batch ("Erstellen von Versandlosreferenz")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from meterkms.accounts.models import User
from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.batches import bulk, claims, mail
from meterkms.batches.models import Batch, ConfirmationState
from meterkms.batches.serials import Entry, Problem
from meterkms.batches.services.common import (
    clean_text,
    refuse,
    resolve,
    subtree_values,
    user_of,
)
from meterkms.core.errors import PermissionDenied
from meterkms.devices.services import history
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import ROLE_PERMS, Perm
from meterkms.organisations.queries import recipient_choices

REFERENCE_MAX = 100
LABEL_MAX = 100


@transaction.atomic
def create_batch(
    *,
    actor: Any,
    reference: str,
    recipient: Organisation,
    serials: Iterable[Entry | Problem],
    needs_confirmation: bool = False,
    label: str = "",
) -> Batch:
    """Offer the listed devices of the actor's organisation to ``recipient`` in a new batch.

    Every serial number must name a device the actor's organisation owns that is not in an
    open batch. Every problem — syntax, duplicates, unknown serials, devices of another
    owner or already offered — is reported with its line and column in one refusal, and
    nothing is created until the input is clean. The devices stay UNCLAIMED and owned by
    the creator; ``claimable_by`` lets the recipient see and claim them. The recipient's
    administrators get the "new batch" email once the transaction commits.
    """
    if not actor.has(Perm.BATCHES_CREATE):
        raise PermissionDenied()
    reference = clean_text(
        reference, field_name="reference", max_length=REFERENCE_MAX, required=True
    )
    label = clean_text(label, field_name="label", max_length=LABEL_MAX, required=False)
    _check_recipient(actor, recipient)
    if needs_confirmation and not _someone_confirms(actor.organisation_path):
        raise refuse(
            "needs_confirmation",
            _("Nobody in your organisation or above it may confirm claim requests."),
        )
    if Batch._base_manager.filter(creator_id=actor.organisation_id, reference=reference).exists():
        raise _taken()
    ids = _offered_devices(actor, serials)
    batch = _new_batch(actor, reference, recipient, needs_confirmation, label, len(ids))
    claims.apply(
        claims.Step.OFFER,
        ids,
        owner=bulk.org_value(actor.organisation_id),
        recipient=bulk.org_value(recipient.pk),
        batch=batch.pk,
    )
    history(ids, "batch.created", actor, batch=reference, recipient=recipient.name)
    record(
        Action.BATCH_CREATED,
        actor=actor,
        target=batch,
        data={
            "devices": len(ids),
            "recipient": recipient.name,
            "needs_confirmation": needs_confirmation,
        },
    )
    mail.notify_recipient(batch)
    return batch


def _offered_devices(actor: Any, serials: Iterable[Entry | Problem]) -> list[int]:
    """Ids of the listed devices, all of the creator's own and not on offer; else refused."""
    creator = bulk.org_value(actor.organisation_id)
    resolved = resolve(serials, visible=subtree_values(actor), prefer_owner=creator)
    for entry, row in resolved.devices:
        if row.owner != creator:
            resolved.add(entry, _("the device belongs to another organisation"))
        elif row.claimable_by is not None or row.status == claims.PENDING:
            resolved.add(entry, _("the device is already in an open batch"))
    if resolved.problems:
        raise resolved.refusal()
    if not resolved.devices:
        raise refuse("serials", _("Add at least one serial number."))
    return [row.id for _entry, row in resolved.devices]


def _check_recipient(actor: Any, recipient: Organisation) -> None:
    """The recipient is another organisation of the actor's tree, or one of its partners."""
    if recipient is None or recipient.pk == actor.organisation_id:
        raise refuse("recipient", _("Choose the organisation that receives the batch."))
    if not recipient_choices(actor).filter(pk=recipient.pk).exists():
        raise refuse("recipient", _("Choose an organisation of your tree or one of your partners."))


def _someone_confirms(path: str) -> bool:
    """True when an active user of the organisation at ``path`` or above may confirm claims."""
    chain = [part for part in path.split("/") if part]
    roles = [role.value for role, perms in ROLE_PERMS.items() if Perm.BATCHES_CONFIRM in perms]
    return User._base_manager.filter(
        organisation_id__in=chain, role__in=roles, is_active=True
    ).exists()


def _new_batch(
    actor: Any,
    reference: str,
    recipient: Organisation,
    needs_confirmation: bool,
    label: str,
    count: int,
) -> Batch:
    try:
        with transaction.atomic():
            return Batch._base_manager.create(
                reference=reference,
                label=label,
                creator_id=actor.organisation_id,
                recipient=recipient,
                needs_confirmation=needs_confirmation,
                confirmation_state=ConfirmationState.NONE,
                device_count=count,
                created_by=user_of(actor),
            )
    except IntegrityError:
        raise _taken() from None


def _taken() -> Exception:
    return refuse(
        "reference", _("Your organisation has a batch with this reference already."), "conflict"
    )
