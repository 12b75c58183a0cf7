"""``/api/v1/emails``: templates, placeholders, previews, test emails and the outbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from meterkms.accounts.services import create_api_token
from meterkms.core import tenancy
from meterkms.emails.enums import EmailKind, OutboxState
from meterkms.emails.models import EmailTemplate, OutboxMessage
from meterkms.emails.services import copy_template, queue_email
from tests.emails.conftest import events, outbox
from tests.support.clients import HttpsClient
from tests.support.personas import World

API = "/api/v1/emails"


def _system(kind: str = EmailKind.INVITE_USER, language: str = "en") -> EmailTemplate:
    with tenancy.crossing("test"):
        return EmailTemplate.objects.get(organisation__isnull=True, kind=kind, language=language)


def _json(client: HttpsClient, method: str, url: str, body: dict | None = None):
    call = getattr(client, method)
    if body is None:
        return call(url)
    return call(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.django_db
def test_templates_are_listed_with_filters_and_without_the_other_tree(
    world: World, client_for
) -> None:
    EmailTemplate._base_manager.create(
        organisation=world.org_b,
        kind="invite_user",
        language="en",
        name="Carol's",
        subject="s",
        body_text="t",
        body_html="h",
    )
    copy = copy_template(template=_system(), actor=world.alice)
    client = client_for(world.alice)
    body = client.get(f"{API}/templates").json()
    assert (body["count"], body["count_exact"]) == (17, True)
    assert "Carol's" not in json.dumps(body)
    names = [item["name"] for item in body["items"]]
    assert (
        names.index("Copy of System Default: Invite Email (en)")
        == names.index("System Default: Invite Email (en)") + 1
    )
    filtered = client.get(f"{API}/templates", {"kind": "invite_user", "language": "en"}).json()
    assert [(i["id"], i["is_system"], i["in_use"], i["is_active"]) for i in filtered["items"]] == [
        (_system().pk, True, True, True),
        (copy.pk, False, False, False),
    ]
    assert filtered["items"][1]["organisation"] == {"id": str(world.org_a.pk), "name": "Integra"}
    assert filtered["items"][1]["copied_from"] == _system().pk
    assert filtered["items"][0]["kind_label"] == "Invite user"
    foreign = client.get(f"{API}/templates", {"organisation": str(world.org_b.pk)})
    assert foreign.status_code == 422
    assert "Carol" not in foreign.content.decode()


@pytest.mark.django_db
def test_edit_copy_activate_deactivate_delete_over_the_api(world: World, client_for) -> None:
    client = client_for(world.alice)
    copied = client.post(f"{API}/templates/{_system().pk}/copy")
    assert copied.status_code == 201
    copy_id = copied.json()["id"]
    assert copied.json()["is_active"] is False
    refused = _json(client, "patch", f"{API}/templates/{copy_id}", {"subject": "Hi {user.name}"})
    assert refused.status_code == 422
    (detail,) = refused.json()["error"]["details"]
    assert (detail["field"], detail["line"], detail["column"]) == ("subject", 1, 4)
    assert "attribute access is not allowed" in detail["message"]
    edited = _json(
        client, "patch", f"{API}/templates/{copy_id}", {"subject": "Welcome, {recipient_name}"}
    )
    assert edited.status_code == 200
    assert edited.json()["subject"] == "Welcome, {recipient_name}"
    assert edited.json()["body_text"] == _system().body_text
    activated = client.post(f"{API}/templates/{copy_id}/activate").json()
    assert (activated["is_active"], activated["in_use"]) == (True, True)
    deactivated = client.post(f"{API}/templates/{copy_id}/deactivate").json()
    assert deactivated["is_active"] is False
    assert client.delete(f"{API}/templates/{copy_id}").status_code == 204
    assert client.get(f"{API}/templates/{copy_id}").status_code == 404
    for action in (
        "template.copied",
        "template.edited",
        "template.activated",
        "template.deactivated",
        "template.deleted",
    ):
        (event,) = events(action)
        assert event.channel == "api"


@pytest.mark.django_db
def test_system_defaults_answer_409(world: World, client_for) -> None:
    client = client_for(world.alice)
    system = _system()
    changed = _json(client, "patch", f"{API}/templates/{system.pk}", {"subject": "x"})
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "conflict"
    assert client.delete(f"{API}/templates/{system.pk}").status_code == 409
    assert client.post(f"{API}/templates/{system.pk}/activate").status_code == 409


@pytest.mark.django_db
def test_preview_and_placeholders(world: World, client_for) -> None:
    client = client_for(world.alice)
    preview = client.get(f"{API}/templates/{_system(EmailKind.NEW_BATCH, 'de').pk}/preview")
    body = preview.json()
    assert body["subject"] == "Neues Versandlos VL-2026-0042 für Example Utility"
    assert "mit 1.250 Geräten" in body["text"]
    assert body["values"]["organisation"] == "Integra"
    kinds = client.get(f"{API}/placeholders").json()
    batch = next(kind for kind in kinds if kind["kind"] == "new_batch")
    names = {item["name"]: item["automatic"] for item in batch["placeholders"]}
    assert names == {
        "recipient_name": True,
        "recipient_email": True,
        "organisation": True,
        "site_url": True,
        "link": False,
        "batch_reference": False,
        "device_count": False,
        "recipient_organisation": False,
    }


@pytest.mark.django_db
def test_test_email_and_outbox_over_the_api(world: World, client_for) -> None:
    client = client_for(world.alice)
    sent = _json(client, "post", f"{API}/templates/{_system().pk}/test", {"to": "qa@example.com"})
    assert sent.status_code == 202
    assert sent.json()["is_test"] is True
    assert sent.json()["subject"].startswith("[Test] ")
    bad = _json(client, "post", f"{API}/templates/{_system().pk}/test", {"to": "nope"})
    assert bad.status_code == 422
    listed = client.get(f"{API}/outbox", {"state": "queued"}).json()
    assert [item["to_email"] for item in listed["items"]] == ["qa@example.com"]
    detail = client.get(f"{API}/outbox/{sent.json()['id']}").json()
    assert "••••••" in detail["body_text"]
    assert "example-link-of-this-email" not in json.dumps(detail)


@pytest.mark.django_db
def test_retry_over_the_api(world: World, client_for) -> None:
    message = queue_email(
        kind=EmailKind.PASSWORD_RESET,
        to="x@example.com",
        recipient_name="X",
        language="en",
        organisation=world.org_a,
        context={
            "link": "https://e.example/r/t/",
            "expires_at": timezone.now() + timedelta(hours=1),
        },
    )
    OutboxMessage._base_manager.filter(pk=message.pk).update(state=OutboxState.FAILED)
    retried = client_for(world.alice).post(f"{API}/outbox/{message.pk}/retry")
    assert retried.status_code == 200
    assert retried.json()["state"] == "queued"
    again = client_for(world.alice).post(f"{API}/outbox/{message.pk}/retry")
    assert again.status_code == 409


@pytest.mark.django_db
def test_tokens_need_the_permissions_and_see_only_their_tree(world: World) -> None:
    _row, token = create_api_token(user=world.alice, name="mail", scopes=["emails:edit"])
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client = HttpsClient()
    assert client.get(f"{API}/templates", **bearer).json()["count"] == 16
    assert client.get(f"{API}/outbox", **bearer).status_code == 403
    _row, reader = create_api_token(user=world.carol, name="r", scopes=["emails:read"])
    foreign = queue_email(
        kind=EmailKind.PASSWORD_RESET,
        to="x@example.com",
        recipient_name="X",
        language="en",
        organisation=world.org_a,
        context={"link": "https://e.example/r/t/", "expires_at": timezone.now()},
    )
    carol = {"HTTP_AUTHORIZATION": f"Bearer {reader}"}
    assert client.get(f"{API}/outbox", **carol).json()["count"] == 0
    assert client.get(f"{API}/outbox/{foreign.pk}", **carol).status_code == 404
    assert client.get(f"{API}/templates", **carol).status_code == 403
    assert len(outbox()) == 1
