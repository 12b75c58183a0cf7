"""Key lifecycle (every state × state, every state × operation) and data-key rotation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from meterkms.audit.models import AuditEvent
from meterkms.core.errors import DomainError, PermissionDenied
from meterkms.devices.keylife import (
    OPERATIONS,
    TRANSITIONS,
    allowed,
    blobs_under,
    change_state,
    reseal_scope,
)
from meterkms.devices.models import DeviceKey, KeyState
from meterkms.vault.errors import BlobIntegrityError
from meterkms.vault.runtime import get_vault
from tests.devices.conftest import lora_csv, run_import
from tests.support.personas import World

STATES = [state.value for state in KeyState]


def _keys() -> list[DeviceKey]:
    return list(DeviceKey._base_manager.select_related("device").order_by("device__serial"))


def _plain(key: DeviceKey) -> bytes:
    return get_vault().unseal(
        bytes(key.sealed),
        scope=f"org:{key.device.manufacturer_id}",
        record=str(key.device_id),
        slot=key.slot,
        version=key.version,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("start", STATES)
@pytest.mark.parametrize("target", STATES)
def test_every_state_transition_is_allowed_exactly_as_the_table_says(
    world: World, write_file, start: str, target: str
) -> None:
    text, _unused = lora_csv(1)
    run_import(world.alice, write_file("k.csv", text))
    (key,) = _keys()
    DeviceKey._base_manager.filter(pk=key.pk).update(state=start)
    key.refresh_from_db()
    before = AuditEvent._base_manager.filter(action="key.state_changed").count()
    if target in TRANSITIONS[start]:
        changed = change_state(actor=world.alice, key=key, state=target, reason="test")
        assert changed.state == target
        assert AuditEvent._base_manager.filter(action="key.state_changed").count() == before + 1
        event = AuditEvent._base_manager.filter(action="key.state_changed").latest("seq")
        assert (event.data["from"], event.data["to"]) == (start, target)
        assert event.actor_label.startswith("Alice")
        if target == KeyState.DESTROYED:
            assert bytes(DeviceKey._base_manager.get(pk=key.pk).sealed) == b""
    else:
        with pytest.raises(DomainError):
            change_state(actor=world.alice, key=key, state=target)
        assert DeviceKey._base_manager.get(pk=key.pk).state == start
        assert AuditEvent._base_manager.filter(action="key.state_changed").count() == before


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_operations_per_state(state: str, operation: str) -> None:
    expected = {
        "download": {"active"},
        "prove": {"active", "pre-active"},
        "reseal": {"pre-active", "active", "deactivated", "compromised"},
    }[operation]
    assert allowed(operation, state) is (state in expected)


@pytest.mark.django_db
def test_destroyed_key_is_gone_for_good(world: World, write_file) -> None:
    text, _k = lora_csv(1)
    run_import(world.alice, write_file("k.csv", text))
    (key,) = _keys()
    change_state(actor=world.alice, key=key, state="deactivated")
    change_state(actor=world.alice, key=_keys()[0], state="destroyed")
    with pytest.raises(BlobIntegrityError):
        _plain(_keys()[0])


@pytest.mark.django_db
def test_only_key_managers_change_states(world: World, write_file) -> None:
    text, _k = lora_csv(1)
    run_import(world.alice, write_file("k.csv", text))
    with pytest.raises(PermissionDenied):
        change_state(actor=world.olga, key=_keys()[0], state="deactivated")


@pytest.mark.django_db(transaction=True)
def test_data_key_rotation_while_imports_and_reads_go_on(world, write_file) -> None:
    text, keys = lora_csv(600)
    run_import(world.alice, write_file("base.csv", text))
    before = {key.device.serial: _plain(key) for key in _keys()}
    old_dek = str(get_vault().active_data_key_id(f"org:{world.org_a.pk}"))
    failures: list[str] = []
    stop = threading.Event()

    def busy() -> None:
        from django.db import connection

        round_ = 0
        try:
            while not stop.is_set():
                extra, _k = lora_csv(20, prefix=f"R{round_}-")
                run_import(world.alice, write_file(f"r{round_}.csv", extra))
                for key in _keys()[:50]:
                    _plain(key)
                round_ += 1
        except Exception as exc:
            failures.append(repr(exc))
        finally:
            connection.close()

    worker = threading.Thread(target=busy)
    worker.start()
    try:
        job = reseal_scope(organisation_id=world.org_a.pk, batch_size=100)
    finally:
        stop.set()
        worker.join(timeout=120)
    assert not failures, failures
    assert job.retired_data_key == old_dek
    assert blobs_under(old_dek, world.org_a.pk) == 0
    after = {key.device.serial: _plain(key) for key in _keys()}
    assert {serial: after[serial] for serial in before} == before
    assert {bytes.fromhex(value) for value in keys.values()} <= set(after.values())


@pytest.mark.django_db(transaction=True)
def test_data_key_rotation_resumes_after_kill_9(world, write_file, tmp_path: Path) -> None:
    text, _unused = lora_csv(3000)
    outcome = run_import(world.alice, write_file("big.csv", text))
    assert outcome.valid == 3000, outcome.errors[:3]
    before = {key.pk: _plain(key) for key in _keys()}
    old_dek = str(get_vault().active_data_key_id(f"org:{world.org_a.pk}"))
    env = _cli_env()
    command = [sys.executable, "-m", "meterkms", "keys", "rotate-data-keys", "--batch", "10"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_progress(world.org_a.pk)
    except AssertionError:
        process.kill()
        raise AssertionError(process.communicate()[1].decode()[-2000:]) from None
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)  # reap it and close its pipes
    assert process.returncode == -signal.SIGKILL
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert blobs_under(old_dek, world.org_a.pk) == 0
    assert {key.pk: _plain(key) for key in _keys()} == before


def _wait_for_progress(organisation_id: object) -> None:
    from meterkms.devices.models import ResealJob

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = ResealJob._base_manager.filter(organisation_id=organisation_id).first()
        if job is not None and job.resealed > 0:
            return
        time.sleep(0.05)
    raise AssertionError("the rotation made no progress")


def _cli_env() -> dict[str, str]:
    from django.conf import settings
    from django.db import connection

    env = dict(os.environ.items())
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "src")
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        env["METERKMS_DATABASE_URL"] = f"sqlite:///{name}"
    else:
        d = connection.settings_dict
        env["METERKMS_DATABASE_URL"] = (
            f"postgresql://{d['USER']}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{name}"
        )
    env["METERKMS_DATA_DIR"] = str(settings.DATA_DIR)
    return env
