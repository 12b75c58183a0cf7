"""Downloads prepared in the background: the job, the encrypted file, fetching, expiry."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from meterkms.audit.actions import Action
from meterkms.audit.models import AuditEvent
from meterkms.core import context, tenancy
from meterkms.core.errors import DomainError
from meterkms.devices.enums import KeySlot
from meterkms.devices.models import DeviceType
from meterkms.keys import downloads
from meterkms.keys.downloads import DownloadOptions, Secret, Selection, service
from meterkms.keys.downloads.background import build_background
from meterkms.keys.downloads.purge import ORPHAN_SECONDS, purge
from meterkms.keys.downloads.service import spool_dir
from meterkms.keys.exports.protection import Protection, open_export
from meterkms.keys.models import Download, DownloadRecord, DownloadState
from meterkms.organisations.permissions import Role
from tests.keys.downloads.conftest import Keyed, lora_device
from tests.support.leaks import found_in
from tests.support.personas import World

PASSWORD = "Background-Pass-2026"
OPTIONS = DownloadOptions(format="csv", protection=Protection.PASSWORD)


def _queue(actor: Any, devices: list[Keyed], **kwargs: Any) -> Download:
    with tenancy.acting_as(actor):
        return downloads.request_background(
            actor=actor,
            selection=Selection.devices([keyed.device.pk for keyed in devices]),
            options=kwargs.pop("options", OPTIONS),
            secret=kwargs.pop("secret", Secret(password=PASSWORD)),
        )


def _fetch(actor: Any, download: Download) -> bytes:
    with tenancy.acting_as(actor):
        fetched = downloads.fetch(actor=actor, download=Download._base_manager.get(pk=download.pk))
    return b"".join(fetched.chunks)


def _actions() -> list[str]:
    return list(AuditEvent._base_manager.order_by("seq").values_list("action", flat=True))


@pytest.mark.django_db
def test_a_queued_download_is_built_on_commit_and_waits_encrypted_in_the_list(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    devices = [lora_device(world.org_a, f"BG-{n}") for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        queued = _queue(world.olga, devices)
    assert queued.state == DownloadState.QUEUED
    ready = Download._base_manager.get(pk=queued.pk)
    assert ready.state == DownloadState.READY
    assert (ready.device_count, ready.key_count, ready.progress_done) == (3, 3, 3)
    assert ready.secret_sealed is None  # the password is gone once the file is built
    assert ready.expires_at == ready.finished_at + timedelta(hours=24)
    stored = (spool_dir() / ready.spool_name).read_bytes()
    assert not found_in(stored)
    assert PASSWORD.encode() not in stored
    content = _fetch(world.olga, ready)
    assert len(content) == ready.size
    payload = open_export(content, password=PASSWORD).payload.decode("utf-8-sig")
    for keyed in devices:
        assert keyed.keys[KeySlot.LORAWAN_APPKEY].hex().upper() in payload
    assert _actions()[-3:] == [
        Action.KEYS_DOWNLOAD_REQUESTED,
        Action.KEYS_DOWNLOADED,
        Action.KEYS_DOWNLOAD_FETCHED,
    ]
    built = AuditEvent._base_manager.get(action=Action.KEYS_DOWNLOADED)
    assert built.channel == "task"
    assert built.actor_id == world.olga.pk
    assert DownloadRecord._base_manager.filter(download=ready).exists()
    Download._base_manager.filter(pk=ready.pk).update(fetch_count=0)
    assert Download._base_manager.get(pk=ready.pk).fetch_count == 0


@pytest.mark.django_db
def test_nothing_but_sealed_secrets_and_ciphertext_is_stored_for_a_queued_download(
    world: World,
) -> None:
    queued = _queue(world.olga, [lora_device(world.org_a, "BG-1")])
    stored = Download._base_manager.filter(pk=queued.pk).values().get()
    text = repr(stored).encode()
    assert PASSWORD.encode() not in text
    assert stored["secret_sealed"]
    assert stored["state"] == DownloadState.QUEUED
    assert stored["request_info"]["channel"] == context.current().channel


@pytest.mark.django_db
def test_a_second_run_of_the_job_does_nothing(world: World) -> None:
    queued = _queue(world.olga, [lora_device(world.org_a, "BG-1")])
    build_background(queued.pk)
    first = Download._base_manager.get(pk=queued.pk)
    build_background(queued.pk)
    again = Download._base_manager.get(pk=queued.pk)
    assert (again.state, again.spool_name, again.sha256) == (
        DownloadState.READY,
        first.spool_name,
        first.sha256,
    )
    assert _actions().count(Action.KEYS_DOWNLOADED) == 1


@pytest.mark.django_db
def test_when_the_record_cannot_be_written_the_file_is_dropped(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = _queue(world.olga, [lora_device(world.org_a, "BG-1")])

    def broken(action: str, **kwargs: Any) -> Any:
        raise DatabaseError("injected")

    monkeypatch.setattr(service, "record", broken)
    build_background(queued.pk)
    failed = Download._base_manager.get(pk=queued.pk)
    assert failed.state == DownloadState.FAILED
    assert failed.spool_name == ""
    assert not [path for path in spool_dir().iterdir() if path.name.startswith(failed.pk.hex)]
    assert not DownloadRecord._base_manager.filter(download=failed).exists()
    assert Action.KEYS_DOWNLOADED not in _actions()
    assert _actions()[-1] == Action.KEYS_DOWNLOAD_FAILED
    with pytest.raises(DomainError) as refused:
        _fetch(world.olga, failed)
    assert refused.value.code == "conflict"


@pytest.mark.django_db
def test_a_role_lowered_before_the_job_runs_stops_the_download(world: World) -> None:
    queued = _queue(world.olga, [lora_device(world.org_a, "BG-1")])
    type(world.olga)._base_manager.filter(pk=world.olga.pk).update(role=Role.VIEWER)
    build_background(queued.pk)
    failed = Download._base_manager.get(pk=queued.pk)
    assert failed.state == DownloadState.FAILED
    assert Action.KEYS_DOWNLOADED not in _actions()


@pytest.mark.django_db
def test_a_fetch_that_cannot_be_recorded_sends_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = _queue(world.olga, [lora_device(world.org_a, "BG-1")])
    build_background(queued.pk)
    import meterkms.keys.downloads.background as background

    def broken(action: str, **kwargs: Any) -> Any:
        raise DatabaseError("injected")

    monkeypatch.setattr(background, "record", broken)
    with pytest.raises(DomainError) as refused:
        _fetch(world.olga, queued)
    assert refused.value.code == "unavailable"
    assert Download._base_manager.get(pk=queued.pk).fetch_count == 0


@pytest.mark.django_db
def test_files_expire_are_refused_and_then_deleted(world: World) -> None:
    queued = _queue(world.olga, [lora_device(world.org_a, "BG-1")])
    build_background(queued.pk)
    ready = Download._base_manager.get(pk=queued.pk)
    path = spool_dir() / ready.spool_name
    assert purge(now=ready.expires_at - timedelta(seconds=1)).expired == 0
    assert path.exists()
    Download._base_manager.filter(pk=ready.pk).update(expires_at=timezone.now())
    with pytest.raises(DomainError) as refused:
        _fetch(world.olga, ready)  # expired, even before the purge ran
    assert refused.value.code == "conflict"
    purged = purge(now=timezone.now() + timedelta(seconds=1))
    assert purged.expired == 1
    expired = Download._base_manager.get(pk=ready.pk)
    assert (expired.state, expired.spool_name, expired.spool_key_sealed) == (
        DownloadState.EXPIRED,
        "",
        None,
    )
    assert not path.exists()
    assert _actions()[-1] == Action.KEYS_DOWNLOAD_DELETED
    assert DownloadRecord._base_manager.filter(download=expired).exists()  # the record stays


@pytest.mark.django_db
def test_the_expiry_follows_the_setting(world: World, settings: Any) -> None:
    settings.METERKMS_DOWNLOAD_HOURS = 2
    queued = _queue(world.olga, [lora_device(world.org_a, "BG-1")])
    build_background(queued.pk)
    ready = Download._base_manager.get(pk=queued.pk)
    assert ready.expires_at - ready.finished_at == timedelta(hours=2)


@pytest.mark.django_db
def test_purge_fails_stuck_jobs_and_sweeps_orphaned_files(world: World) -> None:
    queued = _queue(world.olga, [lora_device(world.org_a, "BG-1")])
    Download._base_manager.filter(pk=queued.pk).update(
        state=DownloadState.BUILDING, created_at=timezone.now() - timedelta(hours=25)
    )
    orphan = spool_dir() / "leftover.payload.tmp"
    orphan.write_bytes(b"ciphertext")
    old = time.time() - ORPHAN_SECONDS - 60
    os.utime(orphan, (old, old))
    fresh = spool_dir() / "running.payload.tmp"
    fresh.write_bytes(b"ciphertext")
    purged = purge()
    assert (purged.stuck, purged.orphans) == (1, 1)
    assert Download._base_manager.get(pk=queued.pk).state == DownloadState.FAILED
    assert not orphan.exists()
    assert fresh.exists()


@pytest.mark.django_db
def test_the_owner_only_can_fetch(world: World) -> None:
    queued = _queue(world.olga, [lora_device(world.org_a, "BG-1")])
    build_background(queued.pk)
    for other in (world.adam, world.carol):
        with tenancy.acting_as(other):
            assert not Download.objects.visible_to(other).filter(pk=queued.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_rows_are_read_ahead_on_a_second_connection(
    world: World,
) -> None:
    # Flushes between transactional tests remove the manual's types: bring one's own.
    own_type = DeviceType._base_manager.create(
        name="Read-ahead type", technology="LoRaWAN", key_slots=["AppKey"], organisation=world.org_a
    )
    devices = [lora_device(world.org_a, f"RA-{n:04d}", device_type=own_type) for n in range(5)]
    assert not connection.in_atomic_block
    queued = _queue(world.olga, devices, options=DownloadOptions("json", Protection.NONE))
    build_background(queued.pk)
    ready = Download._base_manager.get(pk=queued.pk)
    assert ready.state == DownloadState.READY, ready.error
    payload = open_export(_fetch(world.olga, ready)).payload.decode()
    for keyed in devices:
        assert keyed.keys[KeySlot.LORAWAN_APPKEY].hex().upper() in payload
