"""Shared set-up of the batch tests: devices, fresh actors, entries, partners."""

from __future__ import annotations

from typing import Any

from meterkms.accounts.models import User
from meterkms.batches.serials import read_text
from meterkms.devices.models import Device
from meterkms.organisations.models import Organisation, Partnership
from tests.support.catalogue import make_device


def fresh(user: User) -> User:
    """The user read again: scope memos of an earlier read never leak into the next step."""
    return User._base_manager.select_related("organisation").get(pk=user.pk)


def devices(owner: Organisation, prefix: str, count: int, **fields: Any) -> list[Device]:
    """``count`` devices of ``owner`` named ``<prefix>0001``…"""
    return [make_device(owner, f"{prefix}{i:04d}", **fields) for i in range(1, count + 1)]


def typed(*serials: str) -> list[Any]:
    """Entries of typed, comma-separated serial numbers."""
    return list(read_text(", ".join(serials), source="typed input"))


def state(device: Device) -> tuple[str, Any, Any, Any]:
    """``(claim_status, owner, claimable_by, batch)`` of the device as stored now."""
    row = Device._base_manager.get(pk=device.pk)
    return row.claim_status, row.owner_id, row.claimable_by_id, row.batch_id


def partner(first: Organisation, second: Organisation) -> Partnership:
    """A partner link between two organisations of different trees."""
    low, high = sorted([first, second], key=lambda org: str(org.pk))
    return Partnership._base_manager.create(first=low, second=high)
