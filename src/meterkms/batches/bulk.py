"""Set-based SQL for batches of up to 100,000 devices: lookups of device rows.

The ORM compiles every value of an ``IN (…)`` list separately and builds a model instance
per row; at 100,000 devices that costs seconds. These helpers run plain SQL in chunks with
values prepared by the model fields (UUIDs, timestamps, JSON), on SQLite and PostgreSQL
alike. They never decide anything: the services and :mod:`meterkms.batches.claims` do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from meterkms.core.sqlsets import member_of
from meterkms.devices.models import Device


def db_value(model: type[Any], field: str, value: Any) -> Any:
    """``value`` as the database driver expects it for ``model.field``."""
    return model._meta.get_field(field).get_db_prep_save(value, connection)


def org_value(organisation_id: Any) -> Any:
    """An organisation id as stored in the devices table (hex text on SQLite, uuid on PG)."""
    return db_value(Device, "owner", organisation_id)


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """What the batch services need to know about one device (raw database values)."""

    id: int
    serial: str
    owner: Any
    status: str
    claimable_by: Any
    batch: int | None


_COLUMNS = "id, serial, owner_id, claim_status, claimable_by_id, batch_id"


def rows_by_serial(serials: Sequence[str]) -> dict[str, list[DeviceRow]]:
    """Every device with one of ``serials`` (any owner: the caller checks visibility)."""
    found: dict[str, list[DeviceRow]] = {}
    with connection.cursor() as cursor:
        for condition, params, _count in member_of("serial", serials):
            cursor.execute(f"SELECT {_COLUMNS} FROM devices_device WHERE {condition}", params)  # noqa: S608
            for row in cursor.fetchall():
                found.setdefault(row[1], []).append(DeviceRow(*row))
    return found


def rows_by_id(ids: Sequence[int]) -> list[DeviceRow]:
    """The devices with these ids, in id order (any owner: the caller checks visibility)."""
    result: list[DeviceRow] = []
    with connection.cursor() as cursor:
        for condition, params, _count in member_of("id", sorted(set(ids))):
            cursor.execute(f"SELECT {_COLUMNS} FROM devices_device WHERE {condition}", params)  # noqa: S608
            result.extend(DeviceRow(*row) for row in cursor.fetchall())
    result.sort(key=lambda row: row.id)
    return result


def rows_of_batch(batch_id: int, status: str, claimable_by: Any) -> list[DeviceRow]:
    """The batch's devices in ``status`` offered to ``claimable_by`` (a raw value)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_COLUMNS} FROM devices_device "  # noqa: S608
            "WHERE batch_id = %s AND claim_status = %s AND claimable_by_id = %s ORDER BY id",
            [batch_id, status, claimable_by],
        )
        return [DeviceRow(*row) for row in cursor.fetchall()]


def has_offers(batch_id: int) -> bool:
    """True while any device of the batch is offered (unclaimed or pending)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM devices_device WHERE batch_id = %s AND claimable_by_id IS NOT NULL "
            "LIMIT 1",
            [batch_id],
        )
        return cursor.fetchone() is not None
