"""``POST /api/v1/proofs`` and ``/api/v1/proofs/csv``: JSON, text and file captures."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from meterkms.accounts.services import create_api_token
from meterkms.api.routers import proofs as proofs_router
from meterkms.api.schemas.proofs import ProofOut
from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.keys.proofs.rows import CSV_COLUMNS
from tests.support.clients import HttpsClient
from tests.support.personas import World

from .catalogue import lorawan_device, random_key, topas_mode5, wmbus_device
from .vectors import JOIN_ACCEPT, JOIN_REQUEST

pytestmark = pytest.mark.django_db

URL = "/api/v1/proofs"


def _bearer(user, scopes=None) -> dict[str, str]:
    _row, token = create_api_token(user=user, name="head-end", scopes=scopes)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _post_json(client, body, url=URL, **extra):
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def meters(world: World) -> dict[str, object]:
    key = random_key()
    proven = wmbus_device(world.org_a, "API-1", "AMT", "60000001", key)
    wrong = wmbus_device(world.org_a, "API-2", "AMT", "60000002", random_key())
    lines = [
        topas_mode5("60000001", key).hex(),
        topas_mode5("60000002", key).hex(),
        topas_mode5("60000003", key).hex(),
        "xyz",
    ]
    return {"key": key, "proven": proven, "wrong": wrong, "text": "\n".join(lines)}


def test_json_capture_answers_summary_and_results_per_line(world: World, meters):
    response = _post_json(HttpsClient(), {"telegrams": meters["text"]}, **_bearer(world.olga))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert ProofOut.model_validate(body).model_dump() == body  # the documented shape
    assert body["summary"] == {
        "lines": 4,
        "telegrams": 3,
        "bad_lines": 1,
        "telegram_verdicts": {"proven": 1, "wrong_key": 1, "no_device": 1, "cannot_tell": 0},
        "devices": {"proven": 1, "wrong_key": 1, "unknown": 1},
        "unreadable_keys": 0,
    }
    results = body["results"]
    assert [r["verdict"] for r in results] == ["proven", "wrong-key", "no-device", "bad-line"]
    first = results[0]
    assert first["devices"] == [{"id": meters["proven"].pk, "serial": "API-1"}]
    assert first["key_slot"] == "OMS v1"
    assert first["checks"] == [{"kind": "2F2F", "passed": True}]
    assert first["scheme"] == "mode5"
    assert first["iv_address"] == "link"
    assert first["address"] == "AMT 60000001"
    assert first["verdict_text"] == "key proven"
    assert results[1]["devices"] == [{"id": meters["wrong"].pk, "serial": "API-2"}]
    assert results[1]["checks"] == [{"kind": "2F2F", "passed": False}]
    assert results[2]["reason"] == "no key is stored for this address"
    assert "not a hex digit" in results[3]["reason"]
    with tenancy.crossing("test reads the audit log"):
        (event,) = AuditEvent.objects.filter(action="keys.proved")
    assert event.channel == "api"
    assert event.data["proven_device_ids"] == [meters["proven"].pk]


def test_results_parameter_leaves_proven_lines_or_all_lines_out(world: World, meters):
    client, auth = HttpsClient(), _bearer(world.olga)
    problems = _post_json(client, {"telegrams": meters["text"]}, f"{URL}?results=problems", **auth)
    assert [r["line"] for r in problems.json()["results"]] == [2, 3, 4]
    none = _post_json(client, {"telegrams": meters["text"]}, f"{URL}?results=none", **auth)
    assert none.json()["results"] == []
    assert none.json()["summary"]["telegrams"] == 3


def test_text_plain_body_is_streamed_as_a_capture(world: World, meters):
    response = HttpsClient().post(
        URL, data=meters["text"].encode(), content_type="text/plain", **_bearer(world.olga)
    )
    assert response.status_code == 200
    assert response.json()["summary"]["telegram_verdicts"]["proven"] == 1


def test_file_upload_with_a_technology_field(world: World):
    dev_eui = "00AFEE7CF5ED6F1E"
    lorawan_device(world.org_a, "LORA-API", dev_eui, JOIN_REQUEST.key_bytes)
    upload = SimpleUploadedFile(
        "joins.txt", f"{JOIN_REQUEST.frame}\n{JOIN_ACCEPT.frame}\n".encode(), "text/plain"
    )
    client = HttpsClient()
    client.force_login(world.olga, backend="meterkms.accounts.backends.EmailBackend")
    response = client.post(URL, {"file": upload, "technology": "LoRaWAN"})
    body = response.json()
    assert response.status_code == 200
    assert [r["scheme"] for r in body["results"]] == ["join-request", "join-accept"]
    assert [r["verdict"] for r in body["results"]] == ["proven", "proven"]
    assert body["results"][0]["join_eui"] == "70B3D57ED00000DC"
    assert body["results"][0]["key_slot"] == "AppKey v1"


def test_csv_variant_answers_the_report(world: World, meters):
    response = _post_json(
        HttpsClient(), {"telegrams": meters["text"]}, f"{URL}/csv", **_bearer(world.olga)
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row[CSV_COLUMNS.index("verdict")] for row in rows[1:]] == [
        "proven",
        "wrong-key",
        "no-device",
        "bad-line",
    ]


def test_a_viewer_and_a_token_without_the_scope_get_403(world: World, meters):
    client = HttpsClient()
    client.force_login(world.bob, backend="meterkms.accounts.backends.EmailBackend")
    denied = _post_json(client, {"telegrams": meters["text"]})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    narrow = _bearer(world.olga, scopes=["devices:read"])
    assert _post_json(HttpsClient(), {"telegrams": meters["text"]}, **narrow).status_code == 403
    assert _post_json(HttpsClient(), {"telegrams": "x"}).status_code == 401


def test_another_trees_devices_are_no_device_for_the_caller(world: World, meters):
    body = _post_json(HttpsClient(), {"telegrams": meters["text"]}, **_bearer(world.cecil)).json()
    assert [r["verdict"] for r in body["results"]] == [
        "no-device",
        "no-device",
        "no-device",
        "bad-line",
    ]
    assert "API-1" not in json.dumps(body)


def test_bad_bodies_are_422_with_the_shared_error_shape(world: World):
    client, auth = HttpsClient(), _bearer(world.olga)
    missing = _post_json(client, {"lines": "x"}, **auth)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "telegrams"
    empty = _post_json(client, {"telegrams": "\n# nothing\n"}, **auth)
    assert empty.status_code == 422
    assert "holds no telegram" in empty.json()["error"]["message"]
    odd = client.post(URL, data=b"<x/>", content_type="application/xml", **auth)
    assert odd.status_code == 422
    no_file = client.post(URL, {"other": "x"}, **auth)
    assert no_file.status_code == 422


def test_captures_over_the_limits_are_413(world: World, monkeypatch, settings):
    client, auth = HttpsClient(), _bearer(world.olga)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    big_json = _post_json(client, {"telegrams": "00" * 200}, **auth)
    assert big_json.status_code == 413
    assert "text/plain" in big_json.json()["error"]["message"]
    monkeypatch.setattr(proofs_router, "MAX_CAPTURE_BYTES", 100)
    big_text = client.post(URL, data=b"00" * 200, content_type="text/plain", **auth)
    assert big_text.status_code == 413


def test_the_openapi_description_names_the_three_body_types_and_the_csv(client):
    spec = client.get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/proofs"]["post"]
    assert set(operation["requestBody"]["content"]) == {
        "application/json",
        "text/plain",
        "multipart/form-data",
    }
    assert {"200", "403", "413", "422"} <= set(operation["responses"])
    csv_operation = spec["paths"]["/api/v1/proofs/csv"]["post"]
    assert "text/csv" in csv_operation["responses"]["200"]["content"]
    names = [p["name"] for p in operation["parameters"]]
    assert names == ["results", "technology"]
