"""An import killed with SIGKILL at any moment leaves all devices or none (security goal 30).

The CLI import runs as its own process; it is killed at a moment drawn uniformly over the
import's duration, 20 times per database (``METERKMS_KILL_TRIALS``; rows per file:
``METERKMS_KILL_ROWS``, default 2,000). After each kill: 0 or all devices, every stored key
opens, the database passes its integrity check, and re-running the same file completes
without duplicates.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from meterkms.devices.models import Device, DeviceKey, ImportRun
from meterkms.vault.runtime import get_vault
from tests.devices.conftest import lora_csv

TRIALS = int(os.environ.get("METERKMS_KILL_TRIALS", "20"))
ROWS = int(os.environ.get("METERKMS_KILL_ROWS", "2000"))
SRC = Path(__file__).resolve().parents[2] / "src"


def _env() -> dict[str, str]:
    from django.conf import settings

    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC)
    env["METERKMS_DATA_DIR"] = str(settings.DATA_DIR)
    details = connection.settings_dict
    if connection.vendor == "sqlite":
        env["METERKMS_DATABASE_URL"] = f"sqlite:///{details['NAME']}"
    else:
        env["METERKMS_DATABASE_URL"] = (
            f"postgresql://{details['USER']}@{details['HOST'] or '127.0.0.1'}:"
            f"{details['PORT'] or 5432}/{details['NAME']}"
        )
    return env


def _import(path: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "meterkms",
        "devices",
        "import",
        str(path),
        "--as",
        "alice@example.com",
    ]
    return subprocess.Popen(
        command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _state(organisation_id: object) -> tuple[int, int]:
    # A fresh connection: an SQLite connection with a statement left open by an earlier test
    # would keep reading its old snapshot of the database.
    connection.close()
    devices = Device._base_manager.filter(owner_id=organisation_id).count()
    keys = DeviceKey._base_manager.filter(device__owner_id=organisation_id).count()
    return devices, keys


def _all_keys_open(organisation_id: object) -> None:
    rows = list(
        DeviceKey._base_manager.filter(device__owner_id=organisation_id).values_list(
            "device_id", "sealed"
        )
    )
    opened = get_vault().unseal_batch(
        scope=f"org:{organisation_id}",
        slot="AppKey",
        version=1,
        items=[(str(device), bytes(blob)) for device, blob in rows],
    )
    assert len(opened) == len(rows)
    assert all(len(key) == 16 for key in opened)


def _integrity() -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA integrity_check")
            assert cursor.fetchone()[0] == "ok"


def _wipe(organisation_id: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM devices_devicekey WHERE device_id IN "
            "(SELECT id FROM devices_device WHERE owner_id = %s)",
            [Device._meta.get_field("owner").get_db_prep_save(organisation_id, connection)],
        )
    Device._base_manager.filter(owner_id=organisation_id).delete()
    ImportRun._base_manager.filter(organisation_id=organisation_id).delete()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_import_killed_at_random_moments_is_all_or_nothing(world, tmp_path: Path) -> None:
    text, _unused = lora_csv(ROWS, prefix="K")
    path = tmp_path / "devices.csv"
    path.write_text(text)
    organisation = world.org_a.pk
    started = time.monotonic()
    assert _import(path).wait(timeout=600) == 0
    duration = time.monotonic() - started
    assert _state(organisation) == (ROWS, ROWS)
    rng = random.Random(30)
    outcomes = {"none": 0, "all": 0}
    for _trial in range(TRIALS):
        _wipe(organisation)
        process = _import(path)
        time.sleep(rng.uniform(0, duration))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        devices, keys = _state(organisation)
        assert (devices, keys) in {(0, 0), (ROWS, ROWS)}, (devices, keys)
        outcomes["all" if devices else "none"] += 1
        _integrity()
        if devices:
            _all_keys_open(organisation)
        rerun = subprocess.run(
            [
                sys.executable,
                "-m",
                "meterkms",
                "devices",
                "import",
                str(path),
                "--as",
                "alice@example.com",
            ],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert _state(organisation) == (ROWS, ROWS), rerun.stdout + rerun.stderr[-2000:]
        _all_keys_open(organisation)
    assert sum(outcomes.values()) == TRIALS
