"""The record of a download: the audit event, the record parts, the options that are refused."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

import pytest
from django.conf import settings

from meterkms.accounts.actors import TokenActor
from meterkms.accounts.services import create_api_token
from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.devices.enums import KeySlot
from meterkms.keys import downloads
from meterkms.keys.downloads import Delivery, DownloadOptions, Secret, Selection
from meterkms.keys.exports.protection import Protection, open_export
from meterkms.keys.models import Download, DownloadRecord, DownloadState
from meterkms.vault.keymaterial import KeyFingerprinter
from tests.keys.downloads.conftest import lora_device, wmbus_device
from tests.support.leaks import found_in
from tests.support.personas import World

pytestmark = pytest.mark.django_db

PLAIN = DownloadOptions(format="csv", protection=Protection.NONE)


def _deliver(actor: Any, ids: list[int], options: DownloadOptions = PLAIN, **secret: Any) -> Any:
    with tenancy.acting_as(actor):
        return downloads.deliver(
            actor=actor, selection=Selection.devices(ids), options=options, secret=Secret(**secret)
        )


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent._base_manager.filter(action=action).order_by("seq"))


def test_the_audit_event_lists_actor_devices_fingerprints_format_and_protection(
    world: World,
) -> None:
    first, second = lora_device(world.org_a, "A-1"), wmbus_device(world.org_a, "A-2")
    delivery = _deliver(world.olga, [first.device.pk, second.device.pk])
    (event,) = _events("keys.downloaded")
    fingerprinter = KeyFingerprinter(settings.FINGERPRINT_SECRET)
    keys = [first.keys[KeySlot.LORAWAN_APPKEY], second.keys[KeySlot.OMS]]
    assert event.actor_id == world.olga.pk
    assert event.organisation_id == world.org_a.pk
    assert (event.target_type, event.target_id) == ("keys.download", str(delivery.download.pk))
    assert event.data["download_id"] == str(delivery.download.pk)
    assert event.data["device_ids"] == [first.device.pk, second.device.pk]
    assert event.data["key_fingerprints"] == [fingerprinter.fingerprint(k)[:32] for k in keys]
    assert (event.data["format"], event.data["protection"]) == ("csv", "none")
    assert (event.data["device_count"], event.data["key_count"]) == (2, 2)
    assert not found_in(json.dumps(event.data).encode())


def test_the_record_parts_list_every_key_and_the_event_holds_their_digest(world: World) -> None:
    first, second = lora_device(world.org_a, "A-1"), wmbus_device(world.org_a, "A-2")
    delivery = _deliver(world.olga, [first.device.pk, second.device.pk])
    parts = DownloadRecord._base_manager.filter(download=delivery.download).order_by("part")
    text = gzip.decompress(b"".join(bytes(part.data) for part in parts))
    lines = text.decode().splitlines()
    assert lines[0] == "device_id\tserial\tslot\tversion\tfingerprint"
    fingerprint = KeyFingerprinter(settings.FINGERPRINT_SECRET).fingerprint
    assert lines[1:] == [
        f"{first.device.pk}\tA-1\tAppKey\t1\t{fingerprint(first.keys[KeySlot.LORAWAN_APPKEY])[:32]}",
        f"{second.device.pk}\tA-2\tOMS\t1\t{fingerprint(second.keys[KeySlot.OMS])[:32]}",
    ]
    (event,) = _events("keys.downloaded")
    assert event.data["record_sha256"] == hashlib.sha256(text).hexdigest()
    assert delivery.download.record_sha256 == event.data["record_sha256"]


def test_the_download_row_describes_the_delivered_file(world: World) -> None:
    keyed = lora_device(world.org_a, "A-1")
    delivery = _deliver(world.olga, [keyed.device.pk, 987_654_321])
    stored = Download._base_manager.get(pk=delivery.download.pk)
    assert isinstance(delivery, Delivery)
    assert stored.state == DownloadState.DELIVERED
    assert (stored.device_count, stored.key_count, stored.left_out_count) == (1, 1, 1)
    assert stored.sha256 == hashlib.sha256(delivery.content).hexdigest()
    assert stored.size == len(delivery.content)
    assert stored.created_by_id == world.olga.pk
    assert not stored.spool_name
    assert stored.secret_sealed is None
    manifest = open_export(delivery.content).manifest
    assert manifest.exporter.email == "olga@example.com"
    assert manifest.exporter.organisation == "Integra"
    assert manifest.download_id == str(stored.pk)


def test_a_download_with_a_token_names_the_token(world: World) -> None:
    keyed = lora_device(world.org_a, "A-1")
    row, _token = create_api_token(user=world.olga, name="head-end", scopes=["keys:download"])
    delivery = _deliver(TokenActor(row), [keyed.device.pk])
    (event,) = _events("keys.downloaded")
    assert delivery.download.token_prefix == row.prefix
    assert event.data["token_prefix"] == row.prefix


@pytest.mark.parametrize(
    ("options", "secret", "field"),
    [
        (DownloadOptions("csv", Protection.PASSWORD), {}, "password"),
        (DownloadOptions("csv", Protection.PASSWORD), {"password": "too-short"}, "password"),
        (
            DownloadOptions("csv", Protection.XMLENC_AES128),
            {"password": "seventeen-bytes!!"},
            "password",
        ),
        (DownloadOptions("csv", Protection.RECIPIENT), {}, "recipient_public_key"),
        (
            DownloadOptions("csv", Protection.RECIPIENT),
            {"recipient_public_key": b"-----BEGIN PUBLIC KEY-----\nnope\n"},
            "recipient_public_key",
        ),
        (DownloadOptions("pdf", Protection.NONE), {}, "format"),
        (DownloadOptions("csv", Protection.NONE, delimiter=":"), {}, "delimiter"),
    ],
)
def test_options_that_cannot_be_delivered_are_refused_before_anything_happens(
    world: World, options: DownloadOptions, secret: dict[str, Any], field: str
) -> None:
    keyed = lora_device(world.org_a, "A-1")
    with pytest.raises(DomainError) as refused:
        _deliver(world.olga, [keyed.device.pk], options, **secret)
    assert refused.value.code == "invalid"
    assert refused.value.details[0]["field"] == field
    assert "seventeen" not in refused.value.message
    assert not Download._base_manager.exists()
    assert not _events("keys.downloaded")


def test_more_devices_than_the_stream_limit_go_to_the_background(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.METERKMS_DOWNLOAD_STREAM_DEVICES = 1
    ids = [lora_device(world.org_a, f"A-{n}").device.pk for n in range(2)]
    with pytest.raises(DomainError) as refused:
        _deliver(world.olga, ids)
    assert refused.value.code == "too_large"
    with tenancy.acting_as(world.olga), django_capture_on_commit_callbacks(execute=True):
        queued = downloads.start(
            actor=world.olga, selection=Selection.devices(ids), options=PLAIN, secret=Secret()
        )
    assert isinstance(queued, Download)
    queued.refresh_from_db()
    assert (queued.state, queued.device_count, queued.background) == ("ready", 2, True)


def test_a_small_download_may_be_asked_for_in_the_background(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    keyed = lora_device(world.org_a, "A-1")
    with tenancy.acting_as(world.olga), django_capture_on_commit_callbacks(execute=True):
        queued = downloads.start(
            actor=world.olga,
            selection=Selection.devices([keyed.device.pk]),
            options=PLAIN,
            secret=Secret(),
            background=True,
        )
    queued.refresh_from_db()
    assert queued.state == DownloadState.READY
    assert [event.action for event in AuditEvent._base_manager.order_by("seq")][-2:] == [
        "keys.download_requested",
        "keys.downloaded",
    ]


def test_preview_counts_what_would_leave_without_recording_anything(world: World) -> None:
    keyed = lora_device(world.org_a, "A-1")
    foreign = lora_device(world.org_b, "B-1")
    with tenancy.acting_as(world.olga):
        count, left_out = downloads.preview(
            actor=world.olga, selection=Selection.devices([keyed.device.pk, foreign.device.pk])
        )
    assert count == 1
    assert left_out.entries == [{"device": foreign.device.pk, "reason": "not_found"}]
    assert not Download._base_manager.exists()
    assert not _events("keys.downloaded")
