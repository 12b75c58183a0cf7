"""A device catalogue for the proof benchmark: many wM-Bus meters with sealed keys, fast.

Rows go in with PostgreSQL ``COPY`` (SQLite: ``executemany``) in chunks of 100,000, keys
sealed in bulk by the vault, the way the import's writer does it. Meter ``i`` is ``AMT``
``10000000 + i`` with one random OMS key, owned by an organisation of its own that is
deleted again at the end, so that other scenarios sharing the benchmark database (see
:mod:`meterkms.cli.benchenv`) are left alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from meterkms.accounts.models import User
from meterkms.accounts.services import create_user
from meterkms.bench.settle import settle
from meterkms.core import tenancy
from meterkms.devices.enums import ClaimStatus, KeySlot, Technology
from meterkms.devices.importing.writer import db_value, insert_rows
from meterkms.devices.models import Device, DeviceKey, DeviceType, KeyState
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Role
from meterkms.organisations.services import create_organisation
from meterkms.vault.errors import WrongMasterKeyError
from meterkms.vault.models import MasterKeyCheck, StoredDataKey
from meterkms.vault.runtime import get_vault, reset_vault

CHUNK = 100_000
FIRST_ADDRESS = 10_000_000
MANUFACTURER = "AMT"
_DEVICE_COLUMNS = (
    "id",
    "serial",
    "device_type_id",
    "manufacturer_id",
    "owner_id",
    "claim_status",
    "dev_eui",
    "join_eui",
    "dev_addr",
    "lorawan_version",
    "wmbus_manufacturer",
    "meter_address",
    "module_address",
    "created_at",
)
_KEY_COLUMNS = (
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


@dataclass
class BenchCatalogue:
    """The filled catalogue: who proves, and the key of meter ``i`` (kept for telegrams)."""

    actor: User
    keys: list[bytes]

    def address(self, index: int) -> str:
        """The 8-digit meter address of meter ``index``."""
        return f"{FIRST_ADDRESS + index:08d}"


def open_vault() -> None:
    """Open the vault on the benchmark database, whose earlier runs used other master keys.

    Each ``meterkms bench`` run makes a new master key, but a PostgreSQL benchmark database
    outlives the run: its check blob and data keys then belong to a key that is gone. Only
    on a database that is the benchmark's own (name ending in ``_bench``) are they dropped;
    whatever they sealed was unreadable already.
    """
    try:
        get_vault()
    except WrongMasterKeyError:
        name = str(connection.settings_dict["NAME"])
        if connection.vendor != "postgresql" or not name.endswith("_bench"):
            raise
        StoredDataKey.objects.all().delete()
        MasterKeyCheck.objects.all().delete()
        reset_vault()
        get_vault()


@contextmanager
def bench_catalogue(count: int, progress: Callable[[str], None]) -> Iterator[BenchCatalogue]:
    """``count`` meters with one sealed OMS key each, in a new organisation; removed after."""
    open_vault()
    tag = os.urandom(4).hex()
    with tenancy.crossing("the benchmark sets up its own organisation"):
        organisation = create_organisation(name=f"Proof benchmark {tag}", parent=None)
        actor = create_user(
            email=f"bench-proofs-{tag}@example.invalid",
            name="Bench",
            organisation=organisation,
            role=Role.OPERATOR,
            password=None,
        )
    device_type = DeviceType._base_manager.create(
        name="Bench meter",
        technology=Technology.WMBUS.value,
        key_slots=[KeySlot.OMS.value],
        organisation=organisation,
    )
    try:
        yield BenchCatalogue(actor, _fill(count, organisation, device_type, progress))
    finally:
        progress("catalogue: removing the benchmark devices")
        _remove(organisation)


def _fill(
    count: int,
    organisation: Organisation,
    device_type: DeviceType,
    progress: Callable[[str], None],
) -> list[bytes]:
    keys: list[bytes] = []
    writer = _Writer(organisation, device_type)
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        progress(f"catalogue: devices {start + 1:,}-{start + size:,} of {count:,}")
        raw = os.urandom(16 * size)
        chunk_keys = [raw[i : i + 16] for i in range(0, len(raw), 16)]
        writer.write(start, chunk_keys)
        keys += chunk_keys
    writer.finish()
    return keys


def _remove(organisation: Organisation) -> None:
    """Delete the organisation's devices and keys in two statements (not row by row)."""
    devices, keys = Device._meta.db_table, DeviceKey._meta.db_table
    owner = db_value(Device, "owner", organisation.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{keys}" WHERE device_id IN '
            f'(SELECT id FROM "{devices}" WHERE owner_id = %s)',
            [owner],
        )
        cursor.execute(f'DELETE FROM "{devices}" WHERE owner_id = %s', [owner])


class _Writer:
    """COPY (or executemany) of device and key rows, ids chosen up front."""

    def __init__(self, organisation: Organisation, device_type: DeviceType) -> None:
        self.vault = get_vault()
        self.scope = f"org:{organisation.pk}"
        self.org = db_value(Device, "owner", organisation.pk)
        self.type_id = device_type.pk
        self.now = db_value(Device, "created_at", timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{Device._meta.db_table}"')
            self.first_id = cursor.fetchone()[0] + 1
        self.last_id = self.first_id - 1

    def write(self, start: int, keys: list[bytes]) -> None:
        ids = range(self.first_id + start, self.first_id + start + len(keys))
        devices = [
            (
                pk,
                f"B{FIRST_ADDRESS + start + n}",
                self.type_id,
                self.org,
                self.org,
                ClaimStatus.UNCLAIMED.value,
                *("", "", "", ""),  # no LoRaWAN identifiers
                MANUFACTURER,
                f"{FIRST_ADDRESS + start + n:08d}",
                "",
                self.now,
            )
            for n, pk in enumerate(ids)
        ]
        insert_rows(Device._meta.db_table, _DEVICE_COLUMNS, devices)
        sealed = self.vault.seal_batch(
            scope=self.scope,
            slot=KeySlot.OMS.value,
            version=1,
            items=[(str(pk), key) for pk, key in zip(ids, keys, strict=True)],
        )
        # Check values and fingerprints are placeholders: a proof never reads them.
        rows = [
            (
                pk,
                KeySlot.OMS.value,
                "AES128",
                1,
                KeyState.ACTIVE.value,
                blob,
                "000000",
                "",
                f"{pk:032x}",
                self.now,
                self.now,
            )
            for pk, blob in zip(ids, sealed, strict=True)
        ]
        insert_rows(DeviceKey._meta.db_table, _KEY_COLUMNS, rows)
        self.last_id = ids[-1]

    def finish(self) -> None:
        """Move the id sequence past the new rows; settle both tables (``bench.settle``)."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                [Device._meta.db_table, self.last_id],
            )
        settle(Device._meta.db_table, DeviceKey._meta.db_table)
