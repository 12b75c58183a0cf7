"""Catalogue objects for tests that need devices without going through an import."""

from __future__ import annotations

from typing import Any

from meterkms.devices.labels import sync_label_links
from meterkms.devices.models import Device, DeviceLabel, DeviceType, ImportRun, Label
from meterkms.organisations.models import Organisation


def shared_type(name: str = "TOPAS Lora W8") -> DeviceType:
    """One of the manual's device types."""
    return DeviceType._base_manager.get(name=name, organisation=None)


def make_device(owner: Organisation, serial: str, **fields: Any) -> Device:
    """A device owned (and registered) by ``owner``, without keys."""
    fields.setdefault("device_type", shared_type())
    fields.setdefault("manufacturer", owner)
    return Device._base_manager.create(owner=owner, serial=serial, **fields)


def make_label(owner: Organisation, name: str, *devices: Device) -> Label:
    """A label of ``owner`` on ``devices``."""
    label, _created = Label._base_manager.get_or_create(organisation=owner, name=name)
    for device in devices:
        DeviceLabel._base_manager.get_or_create(
            device=device,
            label=label,
            defaults={
                "serial": device.serial,
                "owner_id": device.owner_id,
                "claimable_by_id": device.claimable_by_id,
            },
        )
    sync_label_links(device.pk for device in devices)  # the devices as stored, not as held
    return label


def make_run(owner: Organisation, **fields: Any) -> ImportRun:
    """An import run record of ``owner``."""
    fields.setdefault("file_name", "devices.csv")
    fields.setdefault("file_sha256", "0" * 64)
    fields.setdefault("file_format", "csv")
    return ImportRun._base_manager.create(organisation=owner, **fields)
