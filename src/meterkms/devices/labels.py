"""Label links keep copies of their device's serial, owner and offer (``DeviceLabel``).

A label-filtered device list reads, counts and sorts a label's devices from the links
alone, within the reader's scope; so the copies must always equal the device's own columns.
:func:`sync_label_links` copies them for given devices in the caller's transaction. It is
called by every write that moves a device (``batches.claims.apply``, the one place that
changes owners and offers) or links labels (label changes, imports).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

#: Devices per ``UPDATE``: short ``IN`` lists keep the statement on the (device, label) index.
CHUNK = 1000

_COPY = (
    "UPDATE devices_device_labels SET "
    "serial = (SELECT d.serial FROM devices_device d WHERE d.id = device_id), "
    "owner_id = (SELECT d.owner_id FROM devices_device d WHERE d.id = device_id), "
    "claimable_by_id = (SELECT d.claimable_by_id FROM devices_device d WHERE d.id = device_id) "
    "WHERE device_id IN ({marks})"
)

#: Links whose copies differ from their device: the test suite looks for them after each test.
STALE = (
    "SELECT l.id FROM devices_device_labels l JOIN devices_device d ON d.id = l.device_id "
    "WHERE l.serial <> d.serial OR l.owner_id <> d.owner_id "
    "OR (l.claimable_by_id IS NULL) <> (d.claimable_by_id IS NULL) "
    "OR l.claimable_by_id <> d.claimable_by_id"
)


def sync_label_links(device_ids: Iterable[int]) -> None:
    """Copy serial, owner and offer of ``device_ids`` into their label links."""
    ids = sorted(set(device_ids))
    with connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            cursor.execute(_COPY.format(marks=", ".join(["%s"] * len(part))), part)


def stale_links() -> list[int]:
    """Ids of links whose copies differ from their device's columns (should be none)."""
    with connection.cursor() as cursor:
        cursor.execute(STALE)
        return [row[0] for row in cursor.fetchall()]
