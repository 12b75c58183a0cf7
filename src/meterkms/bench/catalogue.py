"""Benchmarks of the catalogue: the manufacturer import and the device list at scale.

``import``: a CSV of 1,000,000 devices with one AES-128 key each, imported end to end
(parse, validate, seal, write, commit) through the import service, next to a raw bulk insert
of the same rows without validation or encryption (PostgreSQL ``COPY`` / SQLite
``executemany``) measured in the same run; plus the peak memory of the process.

``catalogue-list``: the first page of ``GET /api/v1/devices`` with each filter and with
combined filters, and the web list page, p50/p99 over 200 requests through Django's test
client, with 1,000,000 (and at scale ≥ 1 on PostgreSQL, 10,000,000) devices.
"""

from __future__ import annotations

import gc
import os
import resource
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from meterkms.bench.registry import BenchContext, Figure, scenario

IMPORT_GOAL_PG = 100_000
RAW_SHARE_PG = 0.40
RAW_SHARE_SQLITE = 0.50


def _world() -> tuple[Any, Any]:
    """A manufacturer organisation with an OTC admin (fast hasher: not part of the figure)."""
    from meterkms.accounts.models import User
    from meterkms.core import tenancy
    from meterkms.organisations.services import create_organisation

    with tenancy.crossing("the benchmark sets up its own organisations"):
        name = f"Bench {secrets.token_hex(3)}"
        organisation = create_organisation(name=name, parent=None, may_create_organisations=True)
        user = User(
            email=f"{secrets.token_hex(4)}@bench.example",
            name="Bench",
            organisation=organisation,
            role="OTC_ADMIN",
        )
        user.set_unusable_password()
        user.save()
    return organisation, user


def _rows(count: int, prefix: str) -> Iterator[tuple[str, str, str, str]]:
    random = os.urandom
    for index in range(count):
        yield (
            f"{prefix}{index:09d}",
            f"70B3D5{index:010X}",
            "70B3D5E75E000000",
            random(16).hex().upper(),
        )


def _write_csv(path: Path, count: int, prefix: str) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("serial;device_type;dev_eui;join_eui;app_key\n")
        buffer = []
        for serial, dev_eui, join_eui, key in _rows(count, prefix):
            buffer.append(f"{serial};TOPAS Lora W8;{dev_eui};{join_eui};{key}\n")
            if len(buffer) >= 10_000:
                out.writelines(buffer)
                buffer.clear()
        out.writelines(buffer)


def raw_insert_rate(count: int, organisation_id: Any) -> tuple[float, str]:
    """Rows/s of a raw bulk insert of the same rows into a table shaped like the devices."""
    from django.db import connection, transaction

    table = "bench_raw_device"
    collate = ' COLLATE "C"' if connection.vendor == "postgresql" else ""
    key_type = "bytea" if connection.vendor == "postgresql" else "blob"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE TABLE {table} (id bigint PRIMARY KEY, serial text{collate} NOT NULL, "
            f"owner_id text NOT NULL, dev_eui text, join_eui text, app_key {key_type})"
        )
        cursor.execute(f"CREATE INDEX {table}_owner_serial ON {table} (owner_id, serial)")
    owner = str(organisation_id)
    rows = (
        (i, s, owner, d, j, bytes.fromhex(k))
        for i, (s, d, j, k) in enumerate(_rows(count, "RAW"), start=1)
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            label = "raw psycopg COPY of the same rows (no validation, no encryption)"
        else:
            # Streamed like the COPY above, by sqlite3 itself: a list of the rows (or Django's
            # executemany, which keeps what it has read in a tee) would set the process's peak
            # memory before the import is measured.
            sqlite3.Cursor.executemany(
                cursor.cursor, f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?)", rows
            )
            label = "raw sqlite3 executemany of the same rows (no validation, no encryption)"
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
    return count / elapsed, label


def schema_insert_rate(count: int, organisation_id: Any) -> float:
    """Devices/s of writing ``count`` devices with one sealed-size key each straight into the
    real tables (every index, constraint and trigger), no parsing, validation or sealing.

    The transaction is rolled back: the figure is the write cost the schema itself sets
    (on PostgreSQL with the deferred foreign-key checks run before the rollback; SQLite
    would only run them at a commit).
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from meterkms.devices.enums import KeySlot
    from meterkms.devices.importing.writer import DEVICE_COLUMNS, KEY_COLUMNS, db_value, insert_rows
    from meterkms.devices.models import Device, DeviceKey, DeviceType

    device_type = DeviceType._base_manager.get(name="TOPAS Lora W8", organisation=None)
    slot = KeySlot.LORAWAN_APPKEY.value
    owner = db_value(Device, "owner", organisation_id)
    now = db_value(Device, "created_at", timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM devices_device")
        start = cursor.fetchone()[0] + 1
    devices = []
    keys = []
    for index, (serial, dev_eui, join_eui, _key) in enumerate(_rows(count, "SCH")):
        pk = start + index
        devices.append(
            (
                *(pk, serial, device_type.pk, owner, owner, "UNCLAIMED", None, dev_eui),
                *(join_eui, "", "1.0.3", "", "", None, None, "", now),
            )
        )
        fingerprint = os.urandom(16).hex()
        keys.append(
            (pk, slot, "AES128", 1, "active", os.urandom(61), "ABCDEF", "", fingerprint, now, now)
        )
    started = time.perf_counter()
    with transaction.atomic():
        insert_rows(Device._meta.db_table, DEVICE_COLUMNS, devices)
        insert_rows(DeviceKey._meta.db_table, KEY_COLUMNS, keys)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred checks, now
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return count / elapsed


@scenario(
    "import",
    description="manufacturer import of 1,000,000 devices with keys from CSV "
    "vs a raw bulk insert of the same rows",
    needs_django=True,
)
def import_benchmark(ctx: BenchContext) -> list[Figure]:
    from django.db import connection

    from meterkms.core import tenancy
    from meterkms.devices.importing.service import (
        ImportOptions,
        Source,
        import_file,
        start_import,
    )

    count = ctx.n(1_000_000)
    organisation, user = _world()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "devices.csv"
        ctx.progress(f"import: writing a CSV of {count:,} devices")
        _write_csv(path, count, "IMP")
        ctx.progress("import: raw bulk insert (ceiling)")
        raw, label = raw_insert_rate(count, organisation.pk)
        gc.collect()
        before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ctx.progress("import: end to end")
        with tenancy.acting_as(user):
            options = ImportOptions(format="csv")
            source = Source(path)
            run = start_import(actor=user, source=source, options=options)
            started = time.perf_counter()
            outcome = import_file(run=run, actor=user, source=source, options=options)
            elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # After the import and its memory peak: its rows are held in memory, and its rolled-back
    # rows would leave dead tuples in the tables the import writes to.
    ctx.progress("import: the same rows straight into the real tables (schema ceiling)")
    schema = schema_insert_rate(count, organisation.pk)
    if outcome.error_count or outcome.valid != count:
        raise RuntimeError(f"benchmark import failed: {outcome.errors[:3]}")
    rate = count / elapsed
    share = RAW_SHARE_PG if connection.vendor == "postgresql" else RAW_SHARE_SQLITE
    return [
        Figure(
            f"import {count:,} devices with keys (end to end)",
            rate,
            "devices/s",
            raw,
            label,
            f"≥ {share:.0%} of raw"
            + (f" and ≥ {IMPORT_GOAL_PG:,}/s" if connection.vendor == "postgresql" else ""),
            rate >= share * raw and (connection.vendor != "postgresql" or rate >= IMPORT_GOAL_PG),
        ),
        Figure(
            f"import {count:,} devices with keys (end to end), against the schema",
            rate,
            "devices/s",
            schema,
            "COPY/executemany of devices and keys into the real tables with their indexes "
            "and constraints (no validation, no encryption; rolled back)",
        ),
        Figure(
            "peak memory of the process (resident)",
            peak_mb,
            "MB",
            None,
            "",
            "≤ 500 MB",
            peak_mb <= 500,
        ),
        Figure("memory before the import (resident)", before_kb / 1024, "MB"),
    ]


def _populate(
    count: int,
    organisations: list[Any],
    device_type_id: int,
    progress: Callable[[str], None],
    first_index: int = 0,
) -> None:
    """``count`` devices spread over ``organisations`` (first one: 90 %), no keys, fast."""
    from django.db import connection, transaction
    from django.utils import timezone

    from meterkms.bench.settle import settle
    from meterkms.devices.models import Device

    now = timezone.now()
    statuses = ("UNCLAIMED", "CLAIMED", "CLAIMED", "UNCLAIMED", "PENDING")
    columns = (
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
    prefixes = ["ABB", "ABC", "AMT", "IMT", "KAM", "ELV", "QDS", "ZRI"]
    chunk = 200_000
    owners = [_db(Device, "owner", org.pk) for org in organisations]
    when = _db(Device, "created_at", now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM devices_device")
        start = cursor.fetchone()[0] + 1
    for first in range(first_index, first_index + count, chunk):
        rows = []
        for index in range(first, min(first + chunk, first_index + count)):
            owner = owners[0] if index % 10 else owners[1 + (index // 10) % (len(owners) - 1)]
            serial = f"{prefixes[index % len(prefixes)]}{index:08d}"
            rows.append(
                (
                    start + index,
                    serial,
                    device_type_id,
                    owners[0],
                    owner,
                    statuses[index % len(statuses)],
                    f"70B3D5{index:010X}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    when,
                )
            )
        with transaction.atomic(), connection.cursor() as cursor:
            quoted = ", ".join(columns)
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY devices_device ({quoted}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _c in columns)
                cursor.executemany(f"INSERT INTO devices_device ({quoted}) VALUES ({marks})", rows)
        progress(f"catalogue-list: {min(first + chunk, first_index + count):,} devices")
    settle("devices_device")


def _db(model: Any, field: str, value: Any) -> Any:
    from django.db import connection

    return model._meta.get_field(field).get_db_prep_save(value, connection)


def _latencies(client: Any, url: str, params: dict[str, str], runs: int) -> tuple[float, float]:
    for _warm in range(5):
        client.get(url, params, secure=True)
    samples = []
    for _run in range(runs):
        started = time.perf_counter()
        response = client.get(url, params, secure=True)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} {params}: {response.status_code}")
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def list_sizes(ctx: BenchContext, vendor: str) -> list[int]:
    """Catalogue sizes to measure in turn: 1M, and 10M on PostgreSQL at full scale."""
    sizes = [ctx.n(1_000_000)]
    if vendor == "postgresql" and ctx.scale >= 1:
        sizes.append(ctx.n(10_000_000))
    return sizes


@scenario(
    "catalogue-list",
    description="first page of the device list (API and web) with "
    "each filter at 1M (and 10M) devices",
    needs_django=True,
)
def list_benchmark(ctx: BenchContext) -> list[Figure]:
    from django.db import connection
    from django.test import Client

    from meterkms.core import tenancy
    from meterkms.devices.models import DeviceType, Label
    from meterkms.organisations.services import create_organisation

    maker, user = _world()
    with tenancy.crossing("the benchmark sets up customer organisations"):
        customers = [create_organisation(name=f"Customer {i}", parent=None) for i in range(9)]
    device_type = DeviceType._base_manager.get(name="TOPAS Lora W8", organisation=None)
    figures: list[Figure] = []
    runs = max(10, ctx.n(200))
    populated = 0
    for size in list_sizes(ctx, connection.vendor):
        _populate(
            size - populated,
            [maker, *customers],
            device_type.pk,
            ctx.progress,
            first_index=populated,
        )
        populated = size
        label = Label._base_manager.get_or_create(organisation=maker, name="lot-7")[0]
        _label_some(label, 5000)
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user, backend="meterkms.accounts.backends.EmailBackend")
        cases = {
            "no filter": {},
            "serial prefix": {"serial": "ZRI0000"},
            "serial contains": {"serial_contains": "99999"},
            "device type": {"device_type": str(device_type.pk)},
            "claim status": {"claim_status": "PENDING"},
            "label": {"label": str(label.pk)},
            "free text (DevEUI)": {"q": "70B3D5000000ABCD"},
            "prefix + status + type": {
                "serial": "ABC",
                "claim_status": "CLAIMED",
                "device_type": str(device_type.pk),
            },
        }
        # The floor of any request with this client and session, in the same run: the
        # smallest authenticated API answer. The goals are absolute; the machine is not.
        floor50, floor99 = _latencies(client, "/api/v1/me", {}, runs)
        figures.append(Figure(f"{size:,}: request floor (GET /api/v1/me), p99", floor99, "ms"))
        figures.append(Figure(f"{size:,}: request floor (GET /api/v1/me), p50", floor50, "ms"))
        ctx.progress(f"{size:,} devices, floor /api/v1/me: p50 {floor50:.1f} ms, p99 {floor99:.1f}")
        for name, params in cases.items():
            p50, p99 = _latencies(client, "/api/v1/devices", params, runs)
            figures.append(
                Figure(
                    f"{size:,}: API list, {name}, p99",
                    p99,
                    "ms",
                    None,
                    "",
                    "p99 ≤ 15 ms",
                    p99 <= 15,
                )
            )
            figures.append(Figure(f"{size:,}: API list, {name}, p50", p50, "ms"))
            ctx.progress(f"{size:,} devices, API {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        p50, p99 = _latencies(client, "/catalogue/devices/", {}, runs)
        figures.append(
            Figure(f"{size:,}: web list page, p99", p99, "ms", None, "", "p99 ≤ 40 ms", p99 <= 40)
        )
        figures.append(Figure(f"{size:,}: web list page, p50", p50, "ms"))
        ctx.progress(f"{size:,} devices, web list page: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        figures += _many_options_page(ctx, client, size, maker, customers[0], runs)
    return figures


#: Labels and batches of the maker's tree for the page with long filter chips.
MANY_OPTIONS = 5000


def _many_options_page(
    ctx: BenchContext, client: Any, size: int, maker: Any, recipient: Any, runs: int
) -> list[Figure]:
    """The web list page once the tree holds thousands of labels and batches.

    Their chips list the first options and search the server for the rest; a page that
    listed them all grew with every batch shipped.
    """
    from meterkms.batches.models import Batch
    from meterkms.devices.models import Label

    Label._base_manager.bulk_create(
        (Label(organisation=maker, name=f"lot-{n:05d}") for n in range(MANY_OPTIONS)),
        ignore_conflicts=True,
    )
    Batch._base_manager.bulk_create(
        (
            Batch(reference=f"SHIP-{n:05d}", creator=maker, recipient=recipient)
            for n in range(MANY_OPTIONS)
        ),
        ignore_conflicts=True,
    )
    name = f"web list page, {MANY_OPTIONS:,} labels and {MANY_OPTIONS:,} batches"
    p50, p99 = _latencies(client, "/catalogue/devices/", {}, runs)
    search50, search99 = _latencies(
        client, "/catalogue/devices/", {"_options": "batch", "_search": "SHIP-0420"}, runs
    )
    ctx.progress(f"{size:,} devices, {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    ctx.progress(f"{size:,} devices, batch chip search: p50 {search50:.1f}, p99 {search99:.1f}")
    return [
        Figure(f"{size:,}: {name}, p99", p99, "ms", None, "", "p99 ≤ 40 ms", p99 <= 40),
        Figure(f"{size:,}: {name}, p50", p50, "ms"),
        Figure(f"{size:,}: batch chip search (server), p99", search99, "ms"),
        Figure(f"{size:,}: batch chip search (server), p50", search50, "ms"),
    ]


def _label_some(label: Any, count: int) -> None:
    from django.db import connection

    from meterkms.bench.settle import settle

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO devices_device_labels "
            "(device_id, label_id, serial, owner_id, claimable_by_id) "
            "SELECT id, %s, serial, owner_id, claimable_by_id FROM devices_device "
            "WHERE id %% 97 = 0 ORDER BY id LIMIT %s "
            "ON CONFLICT DO NOTHING",
            [label.pk, count],
        )
    settle("devices_device_labels")
