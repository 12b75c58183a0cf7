"""State changes of the catalogue: labels and device types (imports live in importing.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core.errors import DomainError, PermissionDenied
from meterkms.core.sqlsets import member_of
from meterkms.devices.enums import KeySlot, Technology
from meterkms.devices.labels import sync_label_links
from meterkms.devices.models import Device, DeviceEvent, DeviceLabel, DeviceType, Label
from meterkms.organisations.permissions import Perm

MAX_LABEL_LENGTH = 64


def _clean_label(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise DomainError("invalid", _("A label needs a name."))
    if len(cleaned) > MAX_LABEL_LENGTH:
        raise DomainError(
            "invalid", _("A label has at most %(n)d characters.") % {"n": MAX_LABEL_LENGTH}
        )
    return cleaned


def history(devices: Iterable[Device | int], action: str, actor: Any, **details: Any) -> None:
    """One history line per device, given as a device or its id.

    Set-based (``INSERT … SELECT`` per chunk of ids), so an import's or a batch's 100,000
    lines cost a few statements instead of 100,000 model instances.
    """
    ids = sorted({device if isinstance(device, int) else device.pk for device in devices})
    user = getattr(actor, "user", actor)
    organisation = getattr(user, "organisation", None)
    event = DeviceEvent._meta
    values = [
        event.get_field("created_at").get_db_prep_save(timezone.now(), connection),
        action,
        organisation.name if organisation else "",
        f"{user.name} <{user.email}>" if user else "",
        event.get_field("details").get_db_prep_save(
            json.loads(json.dumps(details, default=str)), connection
        ),
    ]
    with connection.cursor() as cursor:
        for condition, params, _count in member_of("id", ids):
            cursor.execute(
                "INSERT INTO devices_deviceevent "  # noqa: S608
                "(device_id, created_at, action, organisation_name, actor_label, details) "
                f"SELECT id, %s, %s, %s, %s, %s FROM devices_device WHERE {condition}",
                [*values, *params],
            )


@transaction.atomic
def change_labels(
    *, actor: Any, devices: list[Device], add: Iterable[str] = (), remove: Iterable[str] = ()
) -> int:
    """Add and remove labels of the actor's organisation on visible devices.

    ``devices`` must come from the actor's scope. Labels are created on first use. Returns
    the number of devices changed.
    """
    if not actor.has(Perm.LABELS_EDIT):
        raise PermissionDenied()
    add_names = sorted({_clean_label(name) for name in add})
    remove_names = sorted({_clean_label(name) for name in remove})
    if not devices or not (add_names or remove_names):
        return 0
    organisation_id = actor.organisation_id
    to_add = [
        Label._base_manager.get_or_create(organisation_id=organisation_id, name=name)[0]
        for name in add_names
    ]
    to_remove = list(
        Label._base_manager.filter(organisation_id=organisation_id, name__in=remove_names)
    )
    ids = [device.pk for device in devices]
    if to_remove:
        DeviceLabel._base_manager.filter(device_id__in=ids, label__in=to_remove).delete()
    if to_add:
        DeviceLabel._base_manager.bulk_create(
            [
                DeviceLabel(
                    device_id=device.pk,
                    label_id=label.pk,
                    serial=device.serial,
                    owner_id=device.owner_id,
                    claimable_by_id=device.claimable_by_id,
                )
                for device in devices
                for label in to_add
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
        sync_label_links(ids)  # the devices as they are now, not as they were read
    history(devices, "labels.changed", actor, added=add_names, removed=remove_names)
    record(
        Action.DEVICE_LABELS_CHANGED,
        actor=actor,
        data={"devices": len(ids), "added": add_names, "removed": remove_names},
    )
    return len(ids)


@transaction.atomic
def create_device_type(
    *,
    actor: Any,
    name: str,
    technology: str,
    product_family: str,
    key_slots: list[str],
) -> DeviceType:
    """Add a device type for the actor's organisation tree."""
    if not actor.has(Perm.DEVICE_TYPES_MANAGE):
        raise PermissionDenied()
    name = " ".join(name.split())
    if not name:
        raise DomainError("invalid", _("A device type needs a name."))
    try:
        technology = Technology(technology).value
        slots = [KeySlot(slot).value for slot in key_slots]
    except ValueError:
        raise DomainError("invalid", _("Unknown technology or key slot.")) from None
    if not slots:
        raise DomainError("invalid", _("A device type carries at least one key slot."))
    if DeviceType.objects.visible_to(actor).filter(name__iexact=name).exists():
        raise DomainError("conflict", _("A device type with this name exists already."))
    device_type = DeviceType._base_manager.create(
        name=name,
        technology=technology,
        product_family=product_family.strip(),
        key_slots=slots,
        organisation_id=actor.organisation_id,
    )
    record(Action.DEVICE_TYPE_CREATED, actor=actor, target=device_type, data={"slots": slots})
    return device_type
