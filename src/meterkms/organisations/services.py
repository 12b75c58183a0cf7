"""Every state change of organisations: create and move (more arrive with the admin menu)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from meterkms.audit.services import record
from meterkms.core.errors import DomainError
from meterkms.organisations.models import Organisation, subtree_filter

if TYPE_CHECKING:
    from meterkms.accounts.models import User


@transaction.atomic
def create_organisation(
    *,
    name: str,
    parent: Organisation | None,
    customer_reference: str = "",
    may_create_organisations: bool = False,
    actor: User | None = None,
    channel: str = "system",
) -> Organisation:
    """Create an organisation under ``parent`` (or a root when ``parent`` is None)."""
    name = name.strip()
    if not name:
        raise DomainError("invalid", _("An organisation needs a name."))
    organisation = Organisation(
        name=name,
        parent=parent,
        customer_reference=customer_reference.strip(),
        may_create_organisations=may_create_organisations,
    )
    organisation.path = organisation.compute_path()
    organisation.depth = parent.depth + 1 if parent else 0
    organisation.save(force_insert=True)
    record(
        "organisation.created",
        actor=actor,
        organisation=organisation,
        target=organisation,
        data={"parent": str(parent.pk) if parent else None},
        channel=channel,
    )
    return organisation


@transaction.atomic
def move_organisation(
    *, organisation: Organisation, new_parent: Organisation, actor: User, channel: str
) -> Organisation:
    """Place ``organisation`` (and its subtree) under ``new_parent``; never makes a cycle.

    The subtree's paths are rewritten in one UPDATE so readers never see a half-moved tree.
    """
    locked = Organisation._base_manager.select_for_update().get(pk=organisation.pk)
    target = Organisation._base_manager.get(pk=new_parent.pk)
    if locked.contains(target):
        raise DomainError(
            "cycle", _("An organisation cannot be moved below itself or one of its descendants.")
        )
    old_path = locked.path
    new_path = target.path + locked.id.hex + "/"
    depth_delta = target.depth + 1 - locked.depth
    Organisation._base_manager.filter(subtree_filter("path", old_path)).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + depth_delta,
    )
    Organisation._base_manager.filter(pk=locked.pk).update(parent=target)
    locked.refresh_from_db()
    record(
        "organisation.moved",
        actor=actor,
        organisation=locked,
        target=locked,
        data={"new_parent": str(target.pk)},
        channel=channel,
    )
    return locked
