"""Bulk writing of validated devices and their sealed keys, inside the caller's transaction.

The fast path: ids are allocated first (the sealed keys' associated data names the device
id), key values are sealed in batches by the vault, and rows go in with PostgreSQL ``COPY`` or
SQLite ``executemany`` instead of per-row ORM saves.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from meterkms.devices.enums import ClaimStatus
from meterkms.devices.importing.validate import ValidDevice, ValidKey
from meterkms.devices.labels import sync_label_links
from meterkms.devices.models import Device, DeviceKey, DeviceLabel, KeyState, Label
from meterkms.devices.services import history
from meterkms.vault.engine import Vault

DEVICE_COLUMNS = (
    "id",
    "serial",
    "device_type_id",
    "manufacturer_id",
    "owner_id",
    "claim_status",
    "import_run_id",
    "dev_eui",
    "join_eui",
    "dev_addr",
    "lorawan_version",
    "wmbus_manufacturer",
    "meter_address",
    "wmbus_version",
    "medium",
    "module_address",
    "created_at",
)
KEY_COLUMNS = (
    "device_id",
    "slot",
    "algorithm",
    "version",
    "state",
    "sealed",
    "kcv",
    "kcv_cmac",
    "fingerprint",
    "created_at",
    "updated_at",
)


#: The device columns a file can set; an empty cell gives none of them.
DATA_COLUMNS = DEVICE_COLUMNS[7:16]
LIVE_STATES = (KeyState.ACTIVE.value, KeyState.PRE_ACTIVE.value)


@dataclass(frozen=True, slots=True)
class Stored:
    """A device of the catalogue as an import compares it: type, owner, data, live keys."""

    id: int
    type_id: int
    owned: bool  # still owned by the manufacturer (not claimed or handed over)
    fields: dict[str, Any]
    keys: dict[str, str]


def given_fields(device: ValidDevice) -> dict[str, Any]:
    """The data columns the file gives for ``device`` (empty cells give nothing)."""
    return {name: value for name, value in device.fields.items() if value not in ("", None)}


def in_list(column: str, values: list[Any]) -> tuple[str, list[Any]]:
    """``column IN (…)`` as SQL and parameters, without the ORM's per-value cost.

    PostgreSQL gets one array parameter (``= ANY``), which it plans and parses far faster
    than thousands of separate parameters.
    """
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def scope_of(organisation_id: Any) -> str:
    """The vault scope of an organisation's data keys (the registering manufacturer's)."""
    return f"org:{organisation_id}"


def db_value(model: type, field_name: str, value: Any) -> Any:
    """``value`` as the database driver must receive it for ``model.field_name``."""
    return model._meta.get_field(field_name).get_db_prep_save(value, connection)


def _allocate_ids(count: int) -> list[int]:
    table = Device._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence is looked up first, as an oid: a name cast to regclass, like
            # pg_get_serial_sequence(), is resolved again for every row (6 µs each).
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')::regclass::oid", [table])
            (sequence,) = cursor.fetchone()
            cursor.execute(
                "SELECT array_agg(nextval(%s::oid)) FROM generate_series(1, %s)",
                [sequence, count],
            )
            return list(cursor.fetchone()[0])
        # SQLite: the import holds the write lock (BEGIN IMMEDIATE), so max(id) is stable.
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608
        start = cursor.fetchone()[0] + 1
        # Keep AUTOINCREMENT-free tables from reusing ids of deleted rows at the end.
        return list(range(start, start + count))


def insert_rows(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    quoted = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor behind Django's wrapper
            with raw.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _column in columns)
            cursor.executemany(
                f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})',  # noqa: S608
                rows,
            )


def check_deferred() -> None:
    """Run the foreign-key checks queued so far now, not all at the commit.

    PostgreSQL queues a deferred check per written foreign key (five per device) and would run
    the import's millions of them at the commit, alone; run per chunk, they overlap with the
    validation of the next rows, and the queue stays small. Every deferrable constraint of
    the schema is a foreign key Django made ``INITIALLY DEFERRED``: switching back to
    ``DEFERRED`` restores their mode.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED")


class DeviceWriter:
    """Writes chunks of new devices for one manufacturer import."""

    def __init__(
        self,
        *,
        vault: Vault,
        manufacturer_id: Any,
        owner_id: Any,
        run_id: int,
        actor: Any = None,
        now: datetime | None = None,
    ) -> None:
        self.vault = vault
        self.actor = actor
        self.manufacturer_id = manufacturer_id
        self.owner_id = owner_id
        self.run_id = run_id
        self.scope = scope_of(manufacturer_id)
        moment = now or timezone.now()
        # Constants in the database's own representation (SQLite has no UUID or timestamp
        # types; executemany would not convert them the way the ORM does).
        self.db_manufacturer = db_value(Device, "manufacturer", manufacturer_id)
        self.db_owner = db_value(Device, "owner", owner_id)
        self.now = db_value(Device, "created_at", moment)
        self._labels: dict[str, int] = {}
        self.written = 0
        self.written_updates = 0

    def write(self, devices: list[ValidDevice]) -> list[int]:
        """Insert ``devices`` with their sealed keys and labels; returns their new ids."""
        if not devices:
            return []
        ids = _allocate_ids(len(devices))
        device_rows = [
            self._device_row(pk, device) for pk, device in zip(ids, devices, strict=True)
        ]
        insert_rows(Device._meta.db_table, DEVICE_COLUMNS, device_rows)
        insert_rows(DeviceKey._meta.db_table, KEY_COLUMNS, self._key_rows(ids, devices))
        self._write_labels(ids, devices)
        check_deferred()
        self.written += len(devices)
        return ids

    def update(self, devices: list[tuple[ValidDevice, Stored]]) -> None:
        """Update existing devices: their type and the data the file gives, in place; a key
        that differs from the live one gets the next version, and the live one is
        deactivated first (one live key per slot). Generated keys never replace a stored
        one; an empty cell keeps the stored value.
        """
        if not devices:
            return
        data = ", ".join(f'"{name}" = COALESCE(%s, "{name}")' for name in DATA_COLUMNS)
        rows = []
        for valid, stored in devices:
            given = given_fields(valid)
            rows.append(
                (
                    valid.device_type.pk,
                    *(given.get(name) for name in DATA_COLUMNS),
                    stored.id,
                )
            )
        table = Device._meta.db_table
        with connection.cursor() as cursor:
            cursor.executemany(
                f'UPDATE "{table}" SET device_type_id = %s, {data} WHERE id = %s',  # noqa: S608
                rows,
            )
        replaced = [
            (stored.id, key)
            for valid, stored in devices
            for key in valid.keys
            if not key.generated and stored.keys.get(key.slot.value) != key.fingerprint
        ]
        if replaced:
            self._replace_keys(replaced)
        self._write_labels([stored.id for _valid, stored in devices], [v for v, _s in devices])
        self._record_updates(devices, replaced)
        self.written_updates += len(devices)

    def _record_updates(
        self, devices: list[tuple[ValidDevice, Stored]], replaced: list[tuple[int, ValidKey]]
    ) -> None:
        """A history line per updated device: the import, and the slots that got a new key."""
        slots: dict[int, list[str]] = defaultdict(list)
        for pk, key in replaced:
            slots[pk].append(key.slot.value)
        groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for _valid, stored in devices:
            groups[tuple(sorted(slots.get(stored.id, ())))].append(stored.id)
        for new_keys, ids in groups.items():
            history(ids, "import.updated", self.actor, run=self.run_id, new_keys=list(new_keys))

    def _replace_keys(self, replaced: list[tuple[int, ValidKey]]) -> None:
        """New active versions of the given keys; their live predecessors deactivated."""
        table = DeviceKey._meta.db_table
        condition, params = in_list("device_id", sorted({pk for pk, _key in replaced}))
        live = ", ".join(["%s"] * len(LIVE_STATES))
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT device_id, slot, MAX(version) FROM "{table}" '  # noqa: S608
                f"WHERE {condition} GROUP BY device_id, slot",
                params,
            )
            latest = {(pk, slot): version for pk, slot, version in cursor.fetchall()}
            cursor.executemany(
                f'UPDATE "{table}" SET state = %s, updated_at = %s '  # noqa: S608
                f"WHERE device_id = %s AND slot = %s AND state IN ({live})",
                [
                    (KeyState.DEACTIVATED.value, self.now, pk, key.slot.value, *LIVE_STATES)
                    for pk, key in replaced
                ],
            )
        groups: dict[tuple[str, int], list[tuple[int, ValidKey]]] = defaultdict(list)
        for pk, key in replaced:
            version = latest.get((pk, key.slot.value), 0) + 1
            groups[(key.slot.value, version)].append((pk, key))
        rows: list[tuple[Any, ...]] = []
        for (slot, version), items in groups.items():
            rows.extend(self._sealed_rows(slot, version, items))
        insert_rows(table, KEY_COLUMNS, rows)

    def _device_row(self, pk: int, device: ValidDevice) -> tuple[Any, ...]:
        fields = device.fields
        return (
            pk,
            device.serial,
            device.device_type.pk,
            self.db_manufacturer,
            self.db_owner,
            ClaimStatus.UNCLAIMED.value,
            self.run_id,
            fields["dev_eui"],
            fields["join_eui"],
            fields["dev_addr"],
            fields["lorawan_version"],
            fields["wmbus_manufacturer"],
            fields["meter_address"],
            fields["wmbus_version"],
            fields["medium"],
            fields["module_address"],
            self.now,
        )

    def _key_rows(self, ids: list[int], devices: list[ValidDevice]) -> list[tuple[Any, ...]]:
        groups: dict[str, list[tuple[int, ValidKey]]] = defaultdict(list)
        for pk, device in zip(ids, devices, strict=True):
            for key in device.keys:
                groups[key.slot.value].append((pk, key))
        rows: list[tuple[Any, ...]] = []
        for slot, items in groups.items():
            rows.extend(self._sealed_rows(slot, 1, items))
        return rows

    def _sealed_rows(
        self, slot: str, version: int, items: list[tuple[int, ValidKey]]
    ) -> list[tuple[Any, ...]]:
        """Key rows (``KEY_COLUMNS``) of one slot and version, sealed in one batch."""
        sealed = self.vault.seal_batch(
            scope=self.scope,
            slot=slot,
            version=version,
            items=[(str(pk), key.value) for pk, key in items],
        )
        return [
            (
                pk,
                slot,
                key.algorithm.value,
                version,
                KeyState.ACTIVE.value,
                blob,
                key.kcv,
                key.kcv_cmac,
                key.fingerprint,
                self.now,
                self.now,
            )
            for (pk, key), blob in zip(items, sealed, strict=True)
        ]

    def _write_labels(self, ids: list[int], devices: list[ValidDevice]) -> None:
        links = []
        for pk, device in zip(ids, devices, strict=True):
            for name in device.labels:
                links.append(
                    DeviceLabel(
                        device_id=pk,
                        label_id=self._label_id(name),
                        serial=device.serial,
                        owner_id=self.owner_id,
                    )
                )
        if links:
            DeviceLabel._base_manager.bulk_create(links, ignore_conflicts=True, batch_size=2000)
            # An updated device may have moved on since its import: copy what it is now.
            sync_label_links(link.device_id for link in links)

    def _label_id(self, name: str) -> int:
        if name not in self._labels:
            label, _created = Label._base_manager.get_or_create(
                organisation_id=self.owner_id, name=name[:64]
            )
            self._labels[name] = label.pk
        return self._labels[name]
