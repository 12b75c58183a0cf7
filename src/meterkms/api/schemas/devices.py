"""Schemas of the catalogue endpoints. No schema here ever carries key material."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema


class NamedRef(Schema):
    """A referenced object by id and name."""

    id: int
    name: str


class DeviceOut(Schema):
    """A device as listed."""

    id: int
    serial: str
    device_type: str
    claim_status: str
    labels: list[str]
    batch: str | None
    dev_eui: str
    meter_address: str
    wmbus_manufacturer: str


class KeySlotOut(Schema):
    """A key slot: algorithm, version, state and check values — never the key."""

    slot: str
    algorithm: str
    version: int
    state: str
    kcv: str
    kcv_cmac: str


class DeviceDetailOut(DeviceOut):
    """A device with its owner, identifiers and key slots."""

    owner: str
    join_eui: str
    dev_addr: str
    lorawan_version: str
    wmbus_version: int | None
    medium: int | None
    module_address: str
    created_at: datetime
    keys: list[KeySlotOut]


class DevicePage(Schema):
    """A page of devices and how many there are.

    ``count_exact`` true: ``count`` is the number of matching devices. Otherwise, with
    ``count_estimated`` false, it is a lower bound ("10,000+"); with ``count_estimated`` true
    it is PostgreSQL's estimate for a big result (two significant digits), not a count.
    """

    count: int
    count_exact: bool
    count_estimated: bool = False
    offset: int
    limit: int
    items: list[DeviceOut]


class LabelChangeIn(Schema):
    """Labels to add and remove on the given devices (ids from the caller's catalogue)."""

    devices: list[int]
    add: list[str] = []
    remove: list[str] = []


class LabelChangeOut(Schema):
    """How many devices were changed."""

    changed: int


class DeviceTypeOut(Schema):
    """A device type with the key slots its devices carry."""

    id: int
    name: str
    technology: str
    product_family: str
    key_slots: list[str]
    shared: bool


class DeviceTypeIn(Schema):
    """A new device type for the caller's organisation tree."""

    name: str
    technology: str
    product_family: str = ""
    key_slots: list[str]
