"""Bulk writing of validated devices and their sealed keys, inside the caller's transaction.

The fast path: ids are allocated first (the sealed keys' associated data names the device
id), key values are sealed in batches by the vault, and rows go in with PostgreSQL ``COPY`` or
SQLite ``executemany`` instead of per-row ORM saves.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from meterkms.devices.enums import ClaimStatus
from meterkms.devices.importing.validate import ValidDevice
from meterkms.devices.labels import sync_label_links
from meterkms.devices.models import Device, DeviceKey, DeviceLabel, KeyState, Label
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
        now: datetime | None = None,
    ) -> None:
        self.vault = vault
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

    def update(self, devices: list[ValidDevice]) -> None:
        """Update existing devices: data in place; a changed key gets a new, active version.

        The old version is deactivated first (one live key per slot); generated keys never
        replace a stored one. Updates are rare, so this path uses the ORM.
        """
        if not devices:
            return
        rows = {
            device.serial: device
            for device in Device._base_manager.filter(
                manufacturer_id=self.manufacturer_id, serial__in=[d.serial for d in devices]
            )
        }
        for valid in devices:
            device = rows[valid.serial]
            Device._base_manager.filter(pk=device.pk).update(
                device_type_id=valid.device_type.pk, **valid.fields
            )
            for key in valid.keys:
                if not key.generated:
                    self._replace_key(device, key)
            self._write_labels([device.pk], [valid])
        self.written_updates += len(devices)

    def _replace_key(self, device: Device, key: Any) -> None:
        live = DeviceKey._base_manager.filter(
            device=device, slot=key.slot.value, state__in=[KeyState.ACTIVE, KeyState.PRE_ACTIVE]
        ).first()
        if live is not None and live.fingerprint == key.fingerprint:
            return
        versions = DeviceKey._base_manager.filter(device=device, slot=key.slot.value)
        version = max(versions.values_list("version", flat=True), default=0) + 1
        if live is not None:
            DeviceKey._base_manager.filter(pk=live.pk).update(state=KeyState.DEACTIVATED)
        (sealed,) = self.vault.seal_batch(
            scope=self.scope,
            slot=key.slot.value,
            version=version,
            items=[(str(device.pk), key.value)],
        )
        DeviceKey._base_manager.create(
            device=device,
            slot=key.slot.value,
            algorithm=key.algorithm.value,
            version=version,
            state=KeyState.ACTIVE,
            sealed=sealed,
            kcv=key.kcv,
            kcv_cmac=key.kcv_cmac,
            fingerprint=key.fingerprint,
        )

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
        groups: dict[str, list[tuple[int, Any]]] = defaultdict(list)
        for pk, device in zip(ids, devices, strict=True):
            for key in device.keys:
                groups[key.slot.value].append((pk, key))
        rows: list[tuple[Any, ...]] = []
        for slot, items in groups.items():
            sealed = self.vault.seal_batch(
                scope=self.scope,
                slot=slot,
                version=1,
                items=[(str(pk), key.value) for pk, key in items],
            )
            rows.extend(
                (
                    pk,
                    slot,
                    key.algorithm.value,
                    1,
                    KeyState.ACTIVE.value,
                    blob,
                    key.kcv,
                    key.kcv_cmac,
                    key.fingerprint,
                    self.now,
                    self.now,
                )
                for (pk, key), blob in zip(items, sealed, strict=True)
            )
        return rows

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
