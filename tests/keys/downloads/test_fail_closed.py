"""Fail-closed audit: no key leaves without a committed record (security goal 17).

10,000 downloads with the audit writer failing in 20 % of them: most through the service, a
sample through the HTTP API. Every answer that carried key bytes has exactly one committed
``keys.downloaded`` event and download row; every failed answer is ``unavailable`` (503)
with no key byte in it; nothing is left of a failed download.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from django.db import DatabaseError

from meterkms.accounts.services import create_api_token
from meterkms.audit.actions import Action
from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.devices.enums import KeySlot
from meterkms.keys import downloads
from meterkms.keys.downloads import DownloadOptions, Secret, Selection, service
from meterkms.keys.exports.protection import Protection
from meterkms.keys.models import Download
from tests.keys.downloads.conftest import lora_device
from tests.support.clients import HttpsClient
from tests.support.leaks import found_in
from tests.support.personas import World

DOWNLOADS = int(__import__("os").environ.get("FC_N", "10000"))
HTTP_EVERY = 50  # every 50th download goes through POST /api/v1/downloads
FAILURE_RATE = 0.2
PLAIN = DownloadOptions(format="csv", protection=Protection.NONE)


class FlakyAudit:
    """``audit.services.record`` that fails for a fixed share of download events."""

    def __init__(self, real: Any, rate: float, seed: int) -> None:
        self.real, self.rate, self.random = real, rate, random.Random(seed)
        self.failed = 0

    def __call__(self, action: str, **kwargs: Any) -> Any:
        if action == Action.KEYS_DOWNLOADED and self.random.random() < self.rate:
            self.failed += 1
            raise DatabaseError("injected: the audit log cannot be written")
        return self.real(action, **kwargs)


def _through_service(actor: Any, device_id: int) -> tuple[str | None, bytes]:
    try:
        with tenancy.acting_as(actor):
            delivery = downloads.deliver(
                actor=actor,
                selection=Selection.devices([device_id]),
                options=PLAIN,
                secret=Secret(),
            )
    except DomainError as refused:
        if refused.code != "unavailable":
            raise
        return None, refused.message.encode()
    return str(delivery.download.pk), delivery.content


def _through_http(client: HttpsClient, token: str, device_id: int) -> tuple[str | None, bytes]:
    client.may_carry_keys = True
    response = client.post(
        "/api/v1/downloads",
        {"devices": [device_id], "format": "csv", "protection": "none"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    if response.status_code == 200:
        assert response["Cache-Control"].startswith("no-store")
        return response["X-Download-Id"], response.content
    assert response.status_code == 503, response.status_code
    assert response.json()["error"]["code"] == "unavailable"
    return None, response.content


@pytest.mark.django_db
@pytest.mark.slow
def test_no_download_without_a_committed_record_when_the_audit_fails(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = [lora_device(world.org_a, f"FC-{n}") for n in range(3)]
    key_hex = {d.device.pk: d.keys[KeySlot.LORAWAN_APPKEY].hex().upper() for d in devices}
    flaky = FlakyAudit(service.record, FAILURE_RATE, seed=8)
    monkeypatch.setattr(service, "record", flaky)
    _row, token = create_api_token(user=world.olga, name="fail-closed", scopes=["keys:download"])
    client = HttpsClient()
    delivered: list[str] = []
    failures = 0
    for attempt in range(DOWNLOADS):
        device_id = devices[attempt % len(devices)].device.pk
        if attempt % HTTP_EVERY == 0:
            download_id, answer = _through_http(client, token, device_id)
        else:
            download_id, answer = _through_service(world.olga, device_id)
        if download_id is None:
            failures += 1
            assert not found_in(answer), f"attempt {attempt}: a failed answer carried key bytes"
            assert key_hex[device_id].encode() not in answer
        else:
            assert key_hex[device_id].encode() in answer
            delivered.append(download_id)
    events = Counter(
        AuditEvent._base_manager.filter(action=Action.KEYS_DOWNLOADED).values_list(
            "target_id", flat=True
        )
    )
    rows = {str(pk) for pk in Download._base_manager.values_list("pk", flat=True)}
    without_record = [pk for pk in delivered if events.get(pk) != 1]
    assert without_record == []
    assert set(events) == set(delivered) == rows
    assert failures == flaky.failed
    assert 0.17 * DOWNLOADS < failures < 0.23 * DOWNLOADS
    assert len(delivered) + failures == DOWNLOADS
