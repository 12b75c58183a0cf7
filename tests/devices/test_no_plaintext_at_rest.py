"""Security goal 1: after importing 1,000 devices with known keys, no key is found anywhere.

Scanned: every row of every table (the SQLite dump, or a ``pg_dump`` of the PostgreSQL test
database), the data directory (spool, mail, TLS, …), every log record of the import and the
pages that show the devices, and Django's cache. Each key is searched in upper and lower
hex, base64 and raw bytes.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from meterkms.core import tenancy
from meterkms.devices.models import Device
from tests.devices.conftest import lora_csv, run_import
from tests.support.leaks import found_in, known_keys
from tests.support.personas import build_world
from tests.support.tiers import require

ROWS = 1000


def _database_bytes() -> bytes:
    if connection.vendor == "sqlite":
        dump = "\n".join(connection.connection.iterdump()).encode()
        rows = []
        with connection.cursor() as cursor:
            cursor.execute("SELECT sealed FROM devices_devicekey")
            rows = [bytes(row[0]) for row in cursor.fetchall()]
        return dump + b"".join(rows)
    require(shutil.which("pg_dump") is not None, "pg_dump")
    settings_dict = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": settings_dict.get("PASSWORD") or ""}
    result = subprocess.run(
        [
            "pg_dump",
            "--no-owner",
            "-h",
            settings_dict["HOST"] or "127.0.0.1",
            "-p",
            str(settings_dict["PORT"] or 5432),
            "-U",
            settings_dict["USER"] or "postgres",
            settings_dict["NAME"],
        ],
        capture_output=True,
        env=env,
        timeout=300,
        check=True,
    )
    return result.stdout


def _files_bytes(root: Path) -> bytes:
    return b"".join(path.read_bytes() for path in root.rglob("*") if path.is_file())


# pg_dump reads committed data from another process; SQLite's dump reads this connection.
# (SQLite cannot flush after a transactional test: the audit triggers refuse DELETE.)
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.mark.django_db(transaction=ON_POSTGRES)
def test_imported_keys_are_nowhere_in_clear(
    tmp_path: Path, data_dir: Path, caplog, client_for
) -> None:
    caplog.set_level(logging.DEBUG)
    world = build_world()
    text, keys = lora_csv(ROWS)
    source = tmp_path / "upload" / "keys.csv"
    source.parent.mkdir()
    source.write_text(text)
    outcome = run_import(world.alice, source)
    assert outcome.valid == ROWS
    client = client_for(world.alice)
    with tenancy.acting_as(world.alice):
        some = list(Device.objects.order_by("serial")[:5])
    pages = [client.get("/catalogue/devices/"), client.get("/api/v1/devices?limit=500")]
    pages += [client.get(f"/catalogue/devices/{device.pk}/") for device in some]
    pages += [client.get(f"/api/v1/devices/{device.pk}") for device in some]
    assert all(page.status_code == 200 for page in pages)
    ours = {bytes.fromhex(value) for value in keys.values()}
    assert ours <= known_keys()
    haystacks = {
        "database": _database_bytes(),
        "data directory": _files_bytes(data_dir),
        "logs": "\n".join(record.getMessage() for record in caplog.records).encode(),
        "cache": repr(getattr(cache, "_cache", {})).encode(),
        "responses": b"".join(page.content for page in pages),
    }
    for where, haystack in haystacks.items():
        leaked = set(found_in(haystack)) & ours
        assert not leaked, f"{len(leaked)} keys found in clear in the {where}"
    assert len(haystacks["database"]) > ROWS * 61  # the sealed blobs are really in there
