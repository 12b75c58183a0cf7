"""The batch, claim and hand-over API: content, errors, conflicts, tokens and tenancy."""

from __future__ import annotations

import json

import pytest

from meterkms.accounts.services import create_api_token
from meterkms.batches.models import Batch, ClaimRequest
from meterkms.batches.services import claim_batch, create_batch
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.models import Device
from tests.batches.helpers import devices, fresh, partner, state, typed
from tests.support.catalogue import make_device
from tests.support.clients import HttpsClient
from tests.support.personas import World

pytestmark = pytest.mark.django_db


def _post(client, url: str, body: dict):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _ship(world: World, reference: str = "API", count: int = 2, **kwargs) -> Batch:
    devices(world.org_a, reference, count)
    partner(world.org_a, world.org_b)
    serials = [f"{reference}{i:04d}" for i in range(1, count + 1)]
    kwargs.setdefault("recipient", world.org_b)
    return create_batch(
        actor=fresh(world.alice), reference=reference, serials=typed(*serials), **kwargs
    )


def test_create_a_batch_from_a_list_and_a_file_text(world: World, client_for) -> None:
    devices(world.org_a, "N", 3)
    response = _post(
        client_for(world.alice),
        "/api/v1/batches",
        {
            "reference": "API-1",
            "recipient": str(world.org_a_child.pk),
            "serials": ["N0001"],
            "serials_text": '\ufeffserial\r\n"N0002";N0003\r\n',
            "needs_confirmation": True,
            "label": "L",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["reference"] == "API-1"
    assert body["device_count"] == 3
    assert body["recipient"] == {"id": str(world.org_a_child.pk), "name": world.org_a_child.name}
    assert body["creator"]["name"] == world.org_a.name
    assert (body["needs_confirmation"], body["confirmation_state"], body["is_open"]) == (
        True,
        "none",
        True,
    )
    assert body["created_by"] == world.alice.name


def test_create_reports_every_problem_with_its_position(world: World, client_for) -> None:
    devices(world.org_a, "N", 1)
    make_device(world.org_b, "THEIRS")
    response = _post(
        client_for(world.alice),
        "/api/v1/batches",
        {
            "reference": "API-2",
            "recipient": str(world.org_a_child.pk),
            "serials": ["N0001", "THEIRS", "bad serial"],
            "serials_text": "\n\nN0001",
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "3 problems: nothing was changed."
    assert error["details"] == [
        {
            "source": "serials",
            "line": 2,
            "column": 1,
            "message": "unknown serial number",
            "serial": "THEIRS",
        },
        {
            "source": "serials",
            "line": 3,
            "column": 1,
            "message": "not a valid serial number",
            "serial": "bad serial",
        },
        {
            "source": "serials_text",
            "line": 3,
            "column": 1,
            "message": "listed twice (first in serials, line 1, column 1)",
            "serial": "N0001",
        },
    ]
    assert not Batch._base_manager.exists()


def test_a_foreign_recipient_is_refused_like_an_unknown_one(world: World, client_for) -> None:
    devices(world.org_a, "N", 1)
    answers = []
    for recipient in (world.org_b.pk, "00000000-0000-0000-0000-000000000000"):
        response = _post(
            client_for(world.alice),
            "/api/v1/batches",
            {"reference": "R", "recipient": str(recipient), "serials": ["N0001"]},
        )
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422


def test_list_and_filter_batches(world: World, client_for) -> None:
    batch = _ship(world, "LIST")
    client = client_for(world.carol)
    body = client.get("/api/v1/batches").json()
    assert body["count"] == 1
    assert body["items"][0]["reference"] == "LIST"
    assert client.get("/api/v1/batches", {"serial": "LIST0002"}).json()["count"] == 1
    assert client.get("/api/v1/batches", {"confirmation_state": "confirmed"}).json()["count"] == 0
    devices_page = client.get(f"/api/v1/batches/{batch.pk}/devices").json()
    assert [item["serial"] for item in devices_page["items"]] == ["LIST0001", "LIST0002"]
    assert {item["claim_status"] for item in devices_page["items"]} == {"UNCLAIMED"}
    bad = client.get("/api/v1/batches", {"created_after": "yesterday"})
    assert bad.status_code == 422


def test_the_other_tree_sees_no_batch(world: World, client_for) -> None:
    devices(world.org_a, "PRIV", 1)
    batch = create_batch(
        actor=fresh(world.alice),
        reference="PRIV",
        recipient=world.org_a_child,
        serials=typed("PRIV0001"),
    )
    client = client_for(world.carol)
    assert client.get("/api/v1/batches").json()["count"] == 0
    foreign = client.get(f"/api/v1/batches/{batch.pk}")
    missing = client.get("/api/v1/batches/987654321")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


def test_claim_a_batch_then_conflict(world: World, client_for) -> None:
    batch = _ship(world)
    client = client_for(world.cecil)
    first = client.post(f"/api/v1/batches/{batch.pk}/claim")
    assert first.status_code == 200
    assert first.json() == {"claimed": 2, "pending": 0, "requests": []}
    second = client.post(f"/api/v1/batches/{batch.pk}/claim")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict"


def test_claim_devices_all_or_nothing_with_a_clear_conflict(world: World, client_for) -> None:
    batch = _ship(world)
    one, two = Device._base_manager.filter(batch=batch).order_by("serial")
    client = client_for(world.cecil)
    assert _post(client, "/api/v1/claims/devices", {"devices": [one.pk]}).status_code == 200
    again = _post(client, "/api/v1/claims/devices", {"devices": [one.pk, two.pk]})
    assert again.status_code == 409
    assert again.json()["error"]["details"] == [{"serial": "API0001", "message": "claimed already"}]
    assert state(two)[0] == "UNCLAIMED"


def test_claim_confirm_and_reject_over_the_api(world: World, client_for) -> None:
    batch = _ship(world, "CONF", needs_confirmation=True)
    claimed = client_for(world.cecil).post(f"/api/v1/batches/{batch.pk}/claim").json()
    assert (claimed["claimed"], claimed["pending"]) == (0, 2)
    request_id = claimed["requests"][0]["id"]
    assert claimed["requests"][0]["state"] == "open"
    alice = client_for(world.alice)
    listed = alice.get("/api/v1/claims/requests", {"state": "open"}).json()
    assert [item["id"] for item in listed["items"]] == [request_id]
    confirmed = _post(alice, f"/api/v1/claims/requests/{request_id}/confirm", {"note": "ok"})
    assert confirmed.status_code == 200
    assert (confirmed.json()["state"], confirmed.json()["note"]) == ("confirmed", "ok")
    twice = _post(alice, f"/api/v1/claims/requests/{request_id}/reject", {})
    assert twice.status_code == 409
    assert {state(d)[0] for d in Device._base_manager.filter(batch=batch)} == {"CLAIMED"}
    seen = client_for(world.cecil).get(f"/api/v1/batches/{batch.pk}/devices").json()
    assert {item["claim_status"] for item in seen["items"]} == {"CLAIMED"}


def test_the_recipient_cannot_confirm_its_claim(world: World, client_for) -> None:
    batch = _ship(world, "SELF", needs_confirmation=True)
    claim_batch(actor=fresh(world.cecil), batch=batch)
    request = ClaimRequest._base_manager.get(batch=batch)
    # carol (ADMIN) lacks batches:confirm altogether.
    response = _post(client_for(world.carol), f"/api/v1/claims/requests/{request.pk}/confirm", {})
    assert response.status_code == 403


def test_a_token_without_the_claim_scope_cannot_claim(world: World) -> None:
    batch = _ship(world, "TOK")
    _row, token = create_api_token(user=world.cecil, name="ro", scopes=["batches:read"])
    client = HttpsClient()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/batches", **headers).json()["count"] == 1
    assert client.post(f"/api/v1/batches/{batch.pk}/claim", **headers).status_code == 403
    _row, full = create_api_token(user=world.cecil, name="rw", scopes=None)
    claimed = client.post(f"/api/v1/batches/{batch.pk}/claim", HTTP_AUTHORIZATION=f"Bearer {full}")
    assert claimed.json()["claimed"] == 2


def test_hand_over_and_list_transfers(world: World, client_for) -> None:
    stock = devices(world.org_a, "HO", 2, claim_status=ClaimStatus.CLAIMED.value)
    partner(world.org_a, world.org_b)
    client = client_for(world.adam)
    response = _post(
        client,
        "/api/v1/ownership/transfers",
        {
            "receiver": str(world.org_b.pk),
            "reason": "contract 9",
            "devices": [stock[0].pk],
            "serials": ["HO0002"],
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["device_count"], body["reason"]) == (2, "contract 9")
    assert body["receiver"]["name"] == world.org_b.name
    assert body["previous_owners"] == [world.org_a.name]
    assert [state(d)[:2] for d in stock] == [("UNCLAIMED", world.org_b.pk)] * 2
    listed = client.get("/api/v1/ownership/transfers").json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    theirs = client_for(world.carol).get("/api/v1/ownership/transfers").json()
    assert theirs["count"] == 1
