"""Every state change of organisations: create, edit, move, delete, and partner links.

With an ``actor`` the services check the administrator's rights themselves: the
organisation (and any new parent) must lie in the actor's subtree, creating needs
``organisations:create`` *and* an own organisation that may create organisations, and the
may-create flag can only be handed on by such an organisation. Without an actor (command
line, demo loader, tests) the caller has decided already.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from meterkms.accounts.guards import require_in_scope as _require_in_scope
from meterkms.accounts.guards import require_perm as _require
from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core import tenancy
from meterkms.core.errors import DomainError, NotFound
from meterkms.organisations.models import Organisation, Partnership, subtree_filter
from meterkms.organisations.permissions import Perm

if TYPE_CHECKING:
    from meterkms.accounts.models import User

_UNSET: Any = object()


def _refusal(code: str, message: str, field: str) -> DomainError:
    """A domain error whose message also belongs to one form field."""
    return DomainError(code, message, details=[{"field": field, "message": message}])


def _actor_organisation(actor: Any) -> Organisation:
    return Organisation._base_manager.get(pk=actor.organisation_id)


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        message = _("An organisation needs a name.")
        raise _refusal("invalid", message, "name")
    return name


def require_may_create(actor: Any) -> None:
    """Refuse unless the actor may create organisations (role *and* own organisation)."""
    _require(actor, Perm.ORGANISATIONS_CREATE)
    if not _actor_organisation(actor).may_create_organisations:
        raise DomainError("forbidden", _("Your organisation may not create other organisations."))


@transaction.atomic
def create_organisation(
    *,
    name: str,
    parent: Organisation | None,
    customer_reference: str = "",
    may_create_organisations: bool = False,
    actor: User | None = None,
    channel: str | None = None,
) -> Organisation:
    """Create an organisation under ``parent`` (or a root when ``parent`` is None).

    An administrator (``actor``) creates only below an organisation of their subtree, never
    a root.
    """
    name = _check_name(name)
    if actor is not None:
        require_may_create(actor)
        if parent is None:
            message = _("Choose the parent organisation.")
            raise _refusal("invalid", message, "parent")
        _require_in_scope(actor, parent)
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
        Action.ORGANISATION_CREATED,
        actor=actor,
        organisation=organisation,
        target=organisation,
        data={"parent": str(parent.pk) if parent else None},
        channel=channel,
    )
    return organisation


@transaction.atomic
def update_organisation(
    *,
    actor: Any,
    organisation: Organisation,
    name: str | None = None,
    customer_reference: str | None = None,
    may_create_organisations: bool | None = None,
    parent: Organisation | None = _UNSET,
    channel: str | None = None,
) -> Organisation:
    """Edit name, customer reference and may-create flag; a new ``parent`` moves it.

    An administrator cannot change the flag of their own organisation (that would raise
    their own rights), and only an organisation that may create organisations hands the
    flag on.
    """
    _require(actor, Perm.ORGANISATIONS_EDIT)
    _require_in_scope(actor, organisation)
    locked = Organisation._base_manager.select_for_update().get(pk=organisation.pk)
    changed: dict[str, Any] = {}
    if name is not None and name.strip() != locked.name:
        changed["name"] = _check_name(name)
    if customer_reference is not None and customer_reference.strip() != locked.customer_reference:
        changed["customer_reference"] = customer_reference.strip()
    if (
        may_create_organisations is not None
        and may_create_organisations != locked.may_create_organisations
    ):
        if locked.pk == actor.organisation_id:
            raise DomainError(
                "forbidden", _("You cannot change what your own organisation may do.")
            )
        require_may_create(actor)
        changed["may_create_organisations"] = may_create_organisations
    if changed:
        for field, value in changed.items():
            setattr(locked, field, value)
        locked.save(update_fields=list(changed))
        record(
            Action.ORGANISATION_UPDATED,
            actor=actor,
            organisation=locked,
            target=locked,
            data={"fields": sorted(changed)},
            channel=channel,
        )
    if parent is not _UNSET and (parent.pk if parent else None) != locked.parent_id:
        if parent is None:
            message = _("Choose the parent organisation.")
            raise _refusal("invalid", message, "parent")
        locked = move_organisation(
            organisation=locked, new_parent=parent, actor=actor, channel=channel
        )
    return locked


@transaction.atomic
def move_organisation(
    *,
    organisation: Organisation,
    new_parent: Organisation,
    actor: Any,
    channel: str | None = None,
) -> Organisation:
    """Place ``organisation`` (and its subtree) under ``new_parent``; never makes a cycle.

    Both must lie in the actor's subtree. The subtree's paths are rewritten in one UPDATE so
    readers never see a half-moved tree. Moving the actor's own organisation always ends in
    a cycle (every parent it may choose lies below it) and is refused as such.
    """
    locked = Organisation._base_manager.select_for_update().get(pk=organisation.pk)
    target = Organisation._base_manager.get(pk=new_parent.pk)
    if actor is not None:
        _require(actor, Perm.ORGANISATIONS_EDIT)
        _require_in_scope(actor, locked)
        _require_in_scope(actor, target)
    if locked.contains(target):
        raise DomainError(
            "cycle",
            _("An organisation cannot be moved below itself or one of its descendants."),
            details=[
                {
                    "field": "parent",
                    "message": _(
                        "An organisation cannot be moved below itself or one of its descendants."
                    ),
                }
            ],
        )
    old_path = locked.path
    new_path = target.path + locked.id.hex + "/"
    depth_delta = target.depth + 1 - locked.depth
    Organisation._base_manager.filter(subtree_filter("path", old_path)).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + depth_delta,
    )
    Organisation._base_manager.filter(pk=locked.pk).update(parent=target)
    old_parent = locked.parent_id
    locked.refresh_from_db()
    record(
        Action.ORGANISATION_MOVED,
        actor=actor,
        organisation=locked,
        target=locked,
        data={"old_parent": str(old_parent) if old_parent else None, "new_parent": str(target.pk)},
        channel=channel,
    )
    return locked


def deletion_blockers(organisation: Organisation) -> list[str]:
    """What keeps ``organisation`` from being deleted: the plural names of what it still owns.

    Generic on purpose: every model that points at Organisation with ``on_delete=PROTECT``
    (or RESTRICT) blocks the deletion while a row refers to it — today users and
    sub-organisations; a devices app hooks in simply by declaring its owner foreign key
    PROTECT. Rows that cascade (invitations, partner links) go with the organisation.
    """
    found = []
    for relation in Organisation._meta.related_objects:
        if relation.on_delete not in (models.PROTECT, models.RESTRICT):
            continue
        model = relation.related_model
        # The deletion check must see every row, whoever may read it.
        if model._base_manager.filter(**{relation.field.name: organisation}).exists():
            found.append(str(model._meta.verbose_name_plural))
    return sorted(set(found))


@transaction.atomic
def delete_organisation(
    *, actor: Any, organisation: Organisation, channel: str | None = None
) -> None:
    """Delete an organisation that owns nothing any more (no users, sub-organisations, devices).

    Its pending invitations and partner links go with it; the audit log keeps its name.
    """
    _require(actor, Perm.ORGANISATIONS_EDIT)
    _require_in_scope(actor, organisation)
    locked = Organisation._base_manager.select_for_update().get(pk=organisation.pk)
    if locked.pk == actor.organisation_id:
        raise DomainError("forbidden", _("You cannot delete your own organisation."))
    blockers = deletion_blockers(locked)
    if blockers:
        raise DomainError(
            "conflict",
            _("The organisation still owns %(things)s; remove them first.")
            % {"things": ", ".join(blockers)},
        )
    record(
        Action.ORGANISATION_DELETED,
        actor=actor,
        organisation=locked.parent,
        target=locked,
        data={"name": locked.name, "path": locked.path},
        channel=channel,
    )
    try:
        locked.delete()
    except (models.ProtectedError, models.RestrictedError):
        # A row arrived between the check and the delete: PROTECT refuses it there too.
        raise DomainError(
            "conflict", _("The organisation still owns data; remove it first.")
        ) from None


def _parse_id(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip())
    except (TypeError, ValueError, AttributeError):
        return None


@transaction.atomic
def add_partner(
    *,
    actor: Any,
    partner_id: Any,
    organisation: Organisation | None = None,
    channel: str | None = None,
) -> Partnership:
    """Link ``organisation`` (default: the actor's) with the organisation whose ID was pasted.

    The answer for an ID that does not exist and for an existing organisation that may not
    be linked (an ancestor of the actor's organisation) is the same, so the form reveals
    nothing about organisations the actor cannot see. An ID of the actor's own subtree and
    an existing link get their own messages: the actor can see both anyway.
    """
    _require(actor, Perm.PARTNERS_MANAGE)
    own = organisation or _actor_organisation(actor)
    _require_in_scope(actor, own)
    unknown = _("No organisation with this ID can be added as a partner.")
    wanted = _parse_id(partner_id)
    if wanted is None:
        raise _refusal("not_found", unknown, "partner_id")
    # Partners lie outside the actor's tree by definition: looking the pasted ID up crosses.
    with tenancy.crossing("adding a partner looks up an organisation of another tree by its ID"):
        partner = Organisation.objects.filter(pk=wanted).first()
    if partner is not None and partner.path.startswith(actor.organisation_path):
        message = _(
            "This organisation belongs to your own organisation tree; it needs no partner link."
        )
        raise _refusal("invalid", message, "partner_id")
    if partner is None or own.path.startswith(partner.path):
        raise _refusal("not_found", unknown, "partner_id")
    first, second = sorted((own, partner), key=lambda org: org.pk)
    if Partnership._base_manager.filter(first=first, second=second).exists():
        message = _("This organisation is a partner already.")
        raise _refusal("conflict", message, "partner_id")
    link = Partnership(first=first, second=second, created_by=getattr(actor, "user", actor))
    link.save(force_insert=True)
    for side, other in ((own, partner), (partner, own)):
        record(
            Action.PARTNER_ADDED,
            actor=actor,
            organisation=side,
            target=link,
            data={"partner": str(other.pk), "partner_name": other.name},
            channel=channel,
        )
    return link


@transaction.atomic
def remove_partner(*, actor: Any, partnership: Partnership, channel: str | None = None) -> None:
    """Remove a partner link; either side may, and both sides' audit logs show it."""
    _require(actor, Perm.PARTNERS_MANAGE)
    link = (
        Partnership._base_manager.select_for_update()
        .select_related("first", "second")
        .filter(pk=partnership.pk)
        .first()
    )
    if link is None or not any(
        side.path.startswith(actor.organisation_path) for side in (link.first, link.second)
    ):
        raise NotFound(_("Not found."))
    for side, other in ((link.first, link.second), (link.second, link.first)):
        record(
            Action.PARTNER_REMOVED,
            actor=actor,
            organisation=side,
            target=link,
            data={"partner": str(other.pk), "partner_name": other.name},
            channel=channel,
        )
    link.delete()
