"""Benchmark scenario "downloads": a key download of 1,000,000 claimed devices as CSV.

End to end through the real download service, as the background job runs it: resolve the
selection, read the keys with a server-side cursor, unseal them, write the CSV, protect it
(password, the default) into the encrypted spool, commit the record and the audit event.
The raw ceiling is measured in the same run on the same rows: the service's own SQL on a
bare driver cursor (server-side on PostgreSQL), AES-GCM decryption with the data key, and
``csv.writer`` writing the same 17 quoted columns to a file — no framework, no checks, no
protection, no record. Goals: at least 100,000 keys/s and 50 % of the ceiling; the
process's peak resident memory during the export at most 300 MB.

The devices are written with the import's bulk writer (``DeviceWriter``: sealing in batches,
COPY on PostgreSQL) and deleted again at the end.
"""

from __future__ import annotations

import contextlib
import csv
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connection

from meterkms.bench.registry import BenchContext, Figure, scenario
from meterkms.core import tenancy

GOAL_RATE = 100_000
GOAL_SHARE = 0.5
GOAL_MB = 300
FILL_CHUNK = 10_000
PASSWORD = "Bench-Download-Pass-2026"  # noqa: S105 (the benchmark's own file password)


def _open_vault() -> None:
    """Open the vault on the benchmark database, whose earlier runs used other master keys.

    Each ``meterkms bench`` run makes a new master key, but a PostgreSQL benchmark database
    outlives the run: its check blob and data keys then belong to a key that is gone. Only
    on a database that is the benchmark's own (name ending in ``_bench``) they are dropped;
    whatever they sealed was unreadable already.
    """
    from meterkms.vault.errors import WrongMasterKeyError
    from meterkms.vault.models import MasterKeyCheck, StoredDataKey
    from meterkms.vault.runtime import get_vault, reset_vault

    try:
        get_vault()
    except WrongMasterKeyError:
        if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].endswith(
            "_bench"
        ):
            raise
        StoredDataKey.objects.all().delete()
        MasterKeyCheck.objects.all().delete()
        reset_vault()
        get_vault()


def _setup() -> tuple[Any, Any]:
    """A fresh organisation (its own serial space) and a key operator in it."""
    from meterkms.accounts.services import create_user
    from meterkms.organisations.permissions import Role
    from meterkms.organisations.services import create_organisation

    tag = os.urandom(4).hex()
    with tenancy.crossing("the benchmark sets up its own organisation"):
        organisation = create_organisation(name=f"Bench downloads {tag}", parent=None)
        user = create_user(
            email=f"bench-{tag}@example.invalid",
            name="Bench Operator",
            organisation=organisation,
            role=Role.OPERATOR,
            password=None,
        )
    return organisation, user


def _devices(count: int, start: int, device_type: Any, secret: bytes) -> Iterator[Any]:
    from meterkms.devices.enums import KeySlot
    from meterkms.devices.importing.validate import FINGERPRINT_CHARS, ValidDevice, ValidKey
    from meterkms.vault.algorithms import Algorithm
    from meterkms.vault.kcv import key_check_value_hex
    from meterkms.vault.keymaterial import KeyFingerprinter

    fingerprinter = KeyFingerprinter(secret)
    for index in range(start, start + count):
        key = os.urandom(16)
        fields = {
            "dev_eui": "",
            "join_eui": "",
            "dev_addr": "",
            "lorawan_version": "",
            "wmbus_manufacturer": "AMT",
            "meter_address": f"{index % 100_000_000:08d}",
            "wmbus_version": 1,
            "medium": 7,
            "module_address": "",
        }
        valid = ValidKey(
            KeySlot.OMS,
            Algorithm.AES128,
            key,
            key_check_value_hex(key, Algorithm.AES128),
            "",
            fingerprinter.fingerprint(key)[:FINGERPRINT_CHARS],
        )
        yield ValidDevice(index, f"AMT{index:08d}", device_type, fields, (), [valid])


def _fill(ctx: BenchContext, organisation: Any, count: int) -> None:
    """Write ``count`` claimed wM-Bus meters with one OMS key each."""
    from meterkms.devices.enums import ClaimStatus
    from meterkms.devices.importing.writer import DeviceWriter, scope_of
    from meterkms.devices.models import Device, DeviceKey, DeviceType
    from meterkms.vault.runtime import get_vault

    vault = get_vault()
    device_type, _created = DeviceType._base_manager.get_or_create(
        name="Bench wM-Bus meter",
        organisation=organisation,
        defaults={"technology": "wM-Bus", "key_slots": ["OMS"]},
    )
    writer = DeviceWriter(
        vault=vault, manufacturer_id=organisation.pk, owner_id=organisation.pk, run_id=None
    )  # type: ignore[arg-type]
    started = time.perf_counter()
    for start in range(0, count, FILL_CHUNK):
        size = min(FILL_CHUNK, count - start)
        vault.prepare(scope_of(organisation.pk), size)
        writer.write(list(_devices(size, start, device_type, settings.FINGERPRINT_SECRET)))
        if start and start % 200_000 == 0:
            ctx.progress(f"downloads: {start:,} devices written")
    Device._base_manager.filter(owner=organisation).update(claim_status=ClaimStatus.CLAIMED.value)
    if connection.vendor == "postgresql":
        # Fresh statistics, as autovacuum would gather after a bulk load of this size.
        with connection.cursor() as cursor:
            for model in (Device, DeviceKey):
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    ctx.progress(f"downloads: {count:,} devices in {time.perf_counter() - started:.0f} s")


def _query(user: Any) -> tuple[str, list[Any]]:
    """The service's own key query for "everything claimed" (SQL and parameters)."""
    from meterkms.devices.models import Device
    from meterkms.devices.queries import claimed_by_subtree
    from meterkms.keys.downloads.source import key_rows

    eligible = claimed_by_subtree(Device.objects.visible_to(user), user)
    sql, params = key_rows(eligible, "csv").query.sql_with_params()
    return sql, list(params)


def _data_keys() -> dict[bytes, AESGCM]:
    """Every data key of the database, unwrapped once (the raw loop's cipher objects)."""
    from meterkms.vault.blob import FORMAT_V1
    from meterkms.vault.datakeys import data_key_context
    from meterkms.vault.djangostore import DjangoDataKeyStore
    from meterkms.vault.models import StoredDataKey
    from meterkms.vault.runtime import get_vault

    provider, store = get_vault().provider, DjangoDataKeyStore()
    ciphers = {}
    for dek_id in StoredDataKey.objects.values_list("id", flat=True):
        record = store.load(dek_id)
        plain = provider.unwrap(record.wrapped, data_key_context(record.id, record.scope))
        ciphers[bytes([FORMAT_V1]) + record.id.bytes] = AESGCM(plain)
    return ciphers


@contextlib.contextmanager
def _raw_cursor(sql: str, params: list[Any]) -> Iterator[Any]:
    """The query on a bare driver connection: a server-side cursor on PostgreSQL."""
    if connection.vendor == "postgresql":
        import psycopg

        database = settings.DATABASES["default"]
        conninfo = {
            "dbname": database["NAME"],
            "user": database.get("USER") or None,
            "password": database.get("PASSWORD") or None,
            "host": database.get("HOST") or None,
            "port": database.get("PORT") or None,
        }
        with (
            psycopg.connect(**{k: v for k, v in conninfo.items() if v}) as raw,
            raw.transaction(),
            raw.cursor(name="bench_raw") as cursor,
        ):
            cursor.execute(sql, params)
            yield cursor
        return
    import sqlite3

    raw = sqlite3.connect(settings.DATABASES["default"]["NAME"])
    try:
        cursor = raw.execute(sql.replace("%s", "?"), params)
        yield cursor
    finally:
        raw.close()


def _raw_export(sql: str, params: list[Any], ciphers: dict[bytes, AESGCM], out: Path) -> int:
    """Fetch, decrypt and csv.writer the rows; returns the number of keys."""
    count, prefixes = 0, {}
    with _raw_cursor(sql, params) as cursor, out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";", quoting=csv.QUOTE_ALL)
        while rows := cursor.fetchmany(2000):
            lines = []
            for row in rows:
                blob = bytes(row[16])
                head = blob[:17]
                prefix = prefixes.get((head, row[13], row[15]))
                if prefix is None:
                    prefix = prefixes[(head, row[13], row[15])] = (
                        head.hex() + f"{row[13]}\x00{row[15]}\x00"
                    )
                key = ciphers[head].decrypt(blob[17:29], blob[29:], (prefix + str(row[0])).encode())
                version, medium = row[6], row[7]
                lines.append(
                    (row[1], row[3], row[4], row[5], f"{version:02X}", f"{medium:02X}",
                     row[8],
                     row[9], row[10], row[11], row[12], "", row[13], row[14],
                     key.hex().upper(), row[17], row[15])
                )  # fmt: skip
            writer.writerows(lines)
            count += len(rows)
    return count


def _peak_reset() -> bool:
    """Reset the process's peak resident memory (Linux); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _service_export(user: Any) -> tuple[float, int, float, bool]:
    """Seconds, keys and peak MB of one background download of everything, as the job runs."""
    from meterkms.keys.downloads import DownloadOptions, Secret, Selection, request_background
    from meterkms.keys.downloads.background import build_background
    from meterkms.keys.models import Download, DownloadState

    exact = _peak_reset()
    started = time.perf_counter()
    with tenancy.acting_as(user):
        queued = request_background(
            actor=user,
            selection=Selection.filtered({"claim_status": "CLAIMED"}),
            options=DownloadOptions(format="csv"),
            secret=Secret(password=PASSWORD),
        )
    build_background(queued.pk)  # the task body (enqueued on commit only inside a request)
    seconds = time.perf_counter() - started
    download = Download._base_manager.get(pk=queued.pk)
    if download.state != DownloadState.READY:
        raise RuntimeError(f"the benchmark download ended {download.state}: {download.error}")
    return seconds, download.key_count, _peak_mb(), exact


def _cleanup(organisation: Any) -> None:
    from meterkms.devices.models import Device, DeviceKey
    from meterkms.keys.downloads import purge
    from meterkms.keys.models import Download

    DeviceKey._base_manager.filter(device__owner=organisation).delete()
    Device._base_manager.filter(owner=organisation).delete()
    Download._base_manager.filter(organisation=organisation).update(
        expires_at="2000-01-01T00:00:00Z"
    )
    purge()


def _timed(run: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    count = run()
    return time.perf_counter() - started, count


@scenario(
    "downloads",
    description="key download of 1M claimed devices as CSV, end to end, next to a raw ceiling",
    needs_django=True,
)
def downloads_figures(ctx: BenchContext) -> list[Figure]:
    """The end-to-end export rate and peak memory, next to the raw ceiling."""
    count = ctx.n(1_000_000)
    _open_vault()
    organisation, user = _setup()
    _fill(ctx, organisation, count)
    sql, params = _query(user)
    ciphers = _data_keys()
    out = Path(settings.DATA_DIR) / "raw-ceiling.csv"
    try:
        ctx.progress("downloads: raw ceiling")
        raw_first = _timed(lambda: _raw_export(sql, params, ciphers, out))
        ctx.progress("downloads: the download service")
        seconds, keys, peak, exact = _service_export(user)
        ctx.progress("downloads: raw ceiling again")
        raw_second = _timed(lambda: _raw_export(sql, params, ciphers, out))
    finally:
        out.unlink(missing_ok=True)
        _cleanup(organisation)
    raw_seconds, raw_keys = min(raw_first, raw_second)
    rate, ceiling = keys / seconds, raw_keys / raw_seconds
    label = "raw: server-side cursor + AES-GCM decrypt + csv.writer, same SQL and columns"
    return [
        Figure(
            f"download of {keys:,} keys as CSV (password), end to end",
            rate,
            "keys/s",
            ceiling,
            label,
            goal=f"≥ {GOAL_RATE:,} keys/s and ≥ 50 % of raw",
            passed=rate >= GOAL_RATE and rate >= GOAL_SHARE * ceiling,
        ),
        Figure(
            "peak resident memory during the download" + ("" if exact else " (whole run)"),
            peak,
            "MB",
            goal=f"≤ {GOAL_MB} MB",
            passed=peak <= GOAL_MB,
        ),
    ]
