"""``/api/v1/downloads``: files from POST only, re-authentication for sessions, tokens as is."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meterkms.accounts.services import create_api_token
from meterkms.devices.enums import KeySlot
from meterkms.keys.exports.protection import open_export
from meterkms.keys.models import Download
from tests.keys.downloads.conftest import lora_device
from tests.support.clients import HttpsClient
from tests.support.mfa import enrol
from tests.support.personas import World

pytestmark = pytest.mark.django_db

PASSWORD = "Api-Download-Pass-1"


def _post(client: HttpsClient, path: str, body: dict[str, Any], **headers: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def _token(user: Any, scopes: list[str]) -> dict[str, str]:
    _row, token = create_api_token(user=user, name="head-end", scopes=scopes)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_session_without_a_second_factor_must_set_one_up_first(
    world: World, client_for: Any
) -> None:
    keyed = lora_device(world.org_a, "A-1")
    body = {"devices": [keyed.device.pk], "protection": "none"}
    answer = _post(client_for(world.olga), "/api/v1/downloads", body)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "second_factor_required"
    assert "/profile/second-factor/" in answer.json()["error"]["message"]


def test_a_session_must_confirm_the_password_first(
    world: World, client_for: Any, fresh: Any
) -> None:
    keyed = lora_device(world.org_a, "A-1")
    body = {"devices": [keyed.device.pk], "protection": "none"}
    enrol(world.olga)
    stale = _post(client_for(world.olga), "/api/v1/downloads", body)
    assert stale.status_code == 403
    assert stale.json()["error"]["code"] == "reauthentication_required"
    client = fresh(world.olga)
    client.may_carry_keys = True
    answer = _post(client, "/api/v1/downloads", body)
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    assert answer["X-Left-Out-Count"] == "0"
    payload = open_export(answer.content).payload.decode()
    assert keyed.keys[KeySlot.LORAWAN_APPKEY].hex().upper() in payload


def test_a_token_with_keys_download_needs_no_reauthentication(world: World) -> None:
    keyed = lora_device(world.org_a, "A-1")
    client = HttpsClient()
    client.may_carry_keys = True
    answer = _post(
        client,
        "/api/v1/downloads",
        {"devices": [keyed.device.pk, 987_654_321], "format": "json", "password": PASSWORD},
        **_token(world.olga, ["keys:download"]),
    )
    assert answer.status_code == 200
    assert answer["X-Left-Out-Count"] == "1"
    opened = open_export(answer.content, password=PASSWORD)
    assert keyed.keys[KeySlot.LORAWAN_APPKEY].hex().upper() in opened.payload.decode()
    download = Download._base_manager.get(pk=answer["X-Download-Id"])
    assert download.channel == "api"
    assert download.token_prefix


def test_a_token_without_the_scope_is_refused(world: World) -> None:
    keyed = lora_device(world.org_a, "A-1")
    answer = _post(
        HttpsClient(),
        "/api/v1/downloads",
        {"devices": [keyed.device.pk], "protection": "none"},
        **_token(world.olga, ["devices:read"]),
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


def test_a_background_download_is_polled_and_fetched_by_post(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    keyed = lora_device(world.org_a, "A-1")
    auth = _token(world.olga, ["keys:download"])
    client = HttpsClient()
    with django_capture_on_commit_callbacks(execute=True):
        queued = _post(
            client,
            "/api/v1/downloads",
            {"devices": [keyed.device.pk], "protection": "none", "background": True},
            **auth,
        )
    assert queued.status_code == 202
    download_id = queued.json()["id"]
    status = client.get(f"/api/v1/downloads/{download_id}", **auth).json()
    assert (status["state"], status["device_count"], status["key_count"]) == ("ready", 1, 1)
    listing = client.get("/api/v1/downloads?state=ready", **auth).json()
    assert [item["id"] for item in listing["items"]] == [download_id]
    assert client.get(f"/api/v1/downloads/{download_id}/file", **auth).status_code == 405
    client.may_carry_keys = True
    fetched = client.post(f"/api/v1/downloads/{download_id}/file", **auth)
    assert fetched.status_code == 200
    assert "no-store" in fetched["Cache-Control"]
    content = b"".join(fetched.streaming_content)
    assert keyed.keys[KeySlot.LORAWAN_APPKEY].hex().upper() in open_export(content).payload.decode()


def test_preview_tells_what_would_be_left_out_and_never_names_foreign_serials(
    world: World, client_for: Any
) -> None:
    mine = lora_device(world.org_a, "A-1")
    foreign = lora_device(world.org_b, "CAROL-SECRET")
    answer = _post(
        client_for(world.olga),
        "/api/v1/downloads/preview",
        {"devices": [mine.device.pk, foreign.device.pk]},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["device_count"] == 1
    assert body["left_out"] == [
        {"device": foreign.device.pk, "serial": None, "reason": "not_found", "message": "not found"}
    ]
    assert "CAROL-SECRET" not in answer.content.decode()


@pytest.mark.parametrize(
    "selection",
    [{}, {"devices": [1], "batch": 2}, {"devices": [1], "filter": {}}],
)
def test_exactly_one_selection_is_required(
    world: World, fresh: Any, selection: dict[str, Any]
) -> None:
    answer = _post(fresh(world.olga), "/api/v1/downloads", {**selection, "protection": "none"})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid"


def test_a_foreign_download_is_not_found(world: World) -> None:
    keyed = lora_device(world.org_b, "B-1")
    client = HttpsClient()
    client.may_carry_keys = True
    carol = _token(world.carol, ["keys:download"])
    made = _post(
        client, "/api/v1/downloads", {"devices": [keyed.device.pk], "protection": "none"}, **carol
    )
    download_id = made["X-Download-Id"]
    olga = _token(world.olga, ["keys:download"])
    assert client.get(f"/api/v1/downloads/{download_id}", **olga).status_code == 404
    assert client.post(f"/api/v1/downloads/{download_id}/file", **olga).status_code == 404
    assert client.get("/api/v1/downloads", **olga).json()["count"] == 0


def test_a_viewer_may_not_use_the_download_endpoints(world: World, client_for: Any) -> None:
    client = client_for(world.bob)
    assert client.get("/api/v1/downloads").status_code == 403
    assert _post(client, "/api/v1/downloads/preview", {"devices": [1]}).status_code == 403
