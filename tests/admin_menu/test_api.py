"""The admin API: users, invitations, organisations and partners under /api/v1/."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.core import mail

from meterkms.accounts.models import User
from meterkms.accounts.services import create_api_token
from meterkms.organisations.models import Invitation, Organisation, Partnership
from tests.admin_menu.helpers import (
    NEW_PASSWORD,
    fresh_child,
    fresh_root,
    fresh_user,
    invitation_with_token,
    unique_email,
)
from tests.support.clients import HttpsClient
from tests.support.personas import World


def _json(client: HttpsClient, method: str, url: str, body: Any = None, **extra: Any) -> Any:
    call = getattr(client, method)
    if body is None:
        return call(url, **extra)
    return call(url, data=json.dumps(body), content_type="application/json", **extra)


@pytest.mark.django_db
def test_user_list_is_paged_filtered_and_scoped(world: World, client_for) -> None:
    client = client_for(world.adam)
    page = client.get("/api/v1/users").json()
    assert page["count"] == 4
    assert page["count_exact"] is True
    assert {item["email"] for item in page["items"]} == {
        "alice@example.com",
        "adam@example.com",
        "olga@example.com",
        "bob@example.com",
    }
    assert all("password" not in item for item in page["items"])
    assert "md5$" not in json.dumps(page)  # no password hash of any kind
    assert client.get("/api/v1/users?role=VIEWER").json()["count"] == 1
    assert client.get(f"/api/v1/users?organisation={world.org_a.pk}").json()["count"] == 4
    foreign = client.get(f"/api/v1/users?organisation={world.org_b.pk}")
    assert foreign.status_code == 422
    assert foreign.json()["error"]["details"][0]["field"] == "organisation"
    assert client.get("/api/v1/users?limit=2").json()["items"].__len__() == 2


@pytest.mark.django_db
def test_user_lifecycle_over_the_api(world: World, client_for) -> None:
    client = client_for(world.adam)
    email = unique_email("api")
    created = _json(
        client,
        "post",
        "/api/v1/users",
        {
            "name": "Api Person",
            "email": email,
            "organisation_id": str(world.org_a_child.pk),
            "role": "OPERATOR",
            "password": NEW_PASSWORD,
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert body["organisation"] == {"id": str(world.org_a_child.pk), "name": "Integra Service"}
    assert body["must_change_password"] is True
    user_id = body["id"]
    patched = _json(client, "patch", f"/api/v1/users/{user_id}", {"role": "VIEWER", "name": "P"})
    assert (patched.json()["role"], patched.json()["name"]) == ("VIEWER", "P")
    assert client.post(f"/api/v1/users/{user_id}/deactivate").json()["is_active"] is False
    assert client.post(f"/api/v1/users/{user_id}/reactivate").json()["is_active"] is True
    password = _json(
        client,
        "post",
        f"/api/v1/users/{user_id}/password",
        {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
    )
    assert password.status_code == 204
    assert client.delete(f"/api/v1/users/{user_id}").status_code == 204
    assert not User._base_manager.filter(pk=user_id).exists()


@pytest.mark.django_db
def test_user_api_refusals_share_the_error_shape(world: World, client_for) -> None:
    client = client_for(world.adam)
    above = _json(client, "patch", f"/api/v1/users/{world.bob.pk}", {"role": "OTC_ADMIN"})
    assert above.status_code == 403
    assert above.json()["error"]["code"] == "forbidden"
    own = _json(client, "patch", f"/api/v1/users/{world.adam.pk}", {"role": "VIEWER"})
    assert own.status_code == 403
    foreign = _json(client, "patch", f"/api/v1/users/{world.cecil.pk}", {"name": "x"})
    missing = _json(client, "patch", "/api/v1/users/987654321", {"name": "x"})
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    into_other_tree = _json(
        client,
        "post",
        "/api/v1/users",
        {
            "name": "X",
            "email": unique_email(),
            "organisation_id": str(world.org_b.pk),
            "role": "VIEWER",
            "password": NEW_PASSWORD,
        },
    )
    unknown_org = _json(
        client,
        "post",
        "/api/v1/users",
        {
            "name": "X",
            "email": unique_email(),
            "organisation_id": str(uuid.uuid4()),
            "role": "VIEWER",
            "password": NEW_PASSWORD,
        },
    )
    assert into_other_tree.status_code == unknown_org.status_code == 422
    assert into_other_tree.json() == unknown_org.json()
    taken = _json(
        client,
        "post",
        "/api/v1/users",
        {
            "name": "X",
            "email": "olga@example.com",
            "organisation_id": str(world.org_a.pk),
            "role": "VIEWER",
            "password": NEW_PASSWORD,
        },
    )
    assert taken.status_code == 409


@pytest.mark.django_db
def test_a_token_without_user_scopes_cannot_manage_users(world: World) -> None:
    _row, token = create_api_token(user=world.adam, name="reader", scopes=["users:read"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client = HttpsClient()
    assert client.get("/api/v1/users", **headers).status_code == 200
    refused = client.post(f"/api/v1/users/{world.bob.pk}/deactivate", **headers)
    assert refused.status_code == 403
    assert User._base_manager.get(pk=world.bob.pk).is_active


@pytest.mark.django_db
def test_invitations_over_the_api_send_once_and_accept_once(
    world: World, client_for, django_capture_on_commit_callbacks
) -> None:
    client = client_for(world.adam)
    body = {
        "name": "Api Invitee",
        "email": unique_email("api-invitee"),
        "organisation_id": str(world.org_a.pk),
        "role": "OPERATOR",
        "language": "es",
    }
    preview = _json(client, "post", "/api/v1/invitations/preview", body)
    assert preview.status_code == 200
    assert "Api Invitee" in preview.json()["body"]
    assert "••••••" in preview.json()["body"]
    assert not Invitation._base_manager.exists()
    with django_capture_on_commit_callbacks(execute=True):
        created = _json(client, "post", "/api/v1/invitations", body)
    assert created.status_code == 201
    invitation = created.json()
    assert invitation["state"] == "pending"
    assert "token" not in json.dumps(invitation)
    token = re.search(r"/invitations/accept/([A-Za-z0-9_-]+)/", mail.outbox[0].body).group(1)
    listed = client.get("/api/v1/invitations?state=pending").json()
    assert [item["id"] for item in listed["items"]] == [invitation["id"]]
    accepted = _json(
        HttpsClient(),
        "post",
        "/api/v1/invitations/accept",
        {"token": token, "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
    )
    assert accepted.status_code == 201
    assert accepted.json()["role"] == "OPERATOR"
    again = _json(
        HttpsClient(),
        "post",
        "/api/v1/invitations/accept",
        {"token": token, "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
    )
    assert again.status_code == 404
    assert client.get(f"/api/v1/invitations/{invitation['id']}").json()["state"] == "accepted"
    closed = client.post(f"/api/v1/invitations/{invitation['id']}/revoke")
    assert closed.status_code == 409


@pytest.mark.django_db
def test_invitation_edit_resend_and_revoke_over_the_api(world: World, client_for) -> None:
    invitation, _token = invitation_with_token(world.org_a)
    client = client_for(world.adam)
    patched = _json(client, "patch", f"/api/v1/invitations/{invitation.pk}", {"role": "ADMIN"})
    assert patched.json()["role"] == "ADMIN"
    above = _json(client, "patch", f"/api/v1/invitations/{invitation.pk}", {"role": "OTC_ADMIN"})
    assert above.status_code == 403
    resent = client.post(f"/api/v1/invitations/{invitation.pk}/resend")
    assert resent.json()["send_count"] == 2
    revoked = client.post(f"/api/v1/invitations/{invitation.pk}/revoke")
    assert revoked.json()["state"] == "revoked"
    foreign, _ = invitation_with_token(world.org_b)
    assert client.get(f"/api/v1/invitations/{foreign.pk}").status_code == 404


@pytest.mark.django_db
def test_organisations_over_the_api(world: World, client_for) -> None:
    client = client_for(world.adam)
    listed = client.get("/api/v1/organisations").json()
    assert {item["name"] for item in listed["items"]} == {"Integra", "Integra Service"}
    own = next(item for item in listed["items"] if item["name"] == "Integra")
    assert own["parent"] is None
    created = _json(
        client,
        "post",
        "/api/v1/organisations",
        {"name": "Api Depot", "parent_id": str(world.org_a_child.pk), "customer_reference": "A1"},
    )
    assert created.status_code == 201
    depot_id = created.json()["id"]
    assert created.json()["parent"]["name"] == "Integra Service"
    assert client.get("/api/v1/organisations?customer_reference=A1").json()["count"] == 1
    moved = _json(
        client, "patch", f"/api/v1/organisations/{depot_id}", {"parent_id": str(world.org_a.pk)}
    )
    assert moved.json()["parent"]["id"] == str(world.org_a.pk)
    cycle = _json(
        client,
        "patch",
        f"/api/v1/organisations/{world.org_a_child.pk}",
        {"parent_id": str(world.org_a_child.pk)},
    )
    assert cycle.status_code == 409
    assert cycle.json()["error"]["code"] == "cycle"
    fresh_user(world.org_a_child)
    busy = client.delete(f"/api/v1/organisations/{world.org_a_child.pk}")
    assert busy.status_code == 409
    assert client.delete(f"/api/v1/organisations/{depot_id}").status_code == 204
    assert not Organisation._base_manager.filter(pk=depot_id).exists()
    foreign = client.get(f"/api/v1/organisations/{world.org_b.pk}")
    missing = client.get(f"/api/v1/organisations/{uuid.uuid4()}")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


@pytest.mark.django_db
def test_partners_over_the_api(world: World, client_for) -> None:
    adam, carol = client_for(world.adam), client_for(world.carol)
    added = _json(adam, "post", "/api/v1/partners", {"partner_id": str(world.org_b.pk)})
    assert added.status_code == 201
    assert added.json()["partner"]["name"] == "Carol Utility"
    seen = carol.get("/api/v1/partners").json()
    assert seen["count"] == 1
    assert seen["items"][0]["organisation"]["name"] == "Carol Utility"
    assert seen["items"][0]["partner"]["name"] == "Integra"
    unknown = _json(adam, "post", "/api/v1/partners", {"partner_id": str(uuid.uuid4())})
    child_admin = fresh_user(fresh_child(world.org_a, "Sub"))
    User._base_manager.filter(pk=child_admin.pk).update(role="ADMIN")
    ancestor = _json(
        client_for(User._base_manager.get(pk=child_admin.pk)),
        "post",
        "/api/v1/partners",
        {"partner_id": str(world.org_a.pk)},
    )
    assert unknown.status_code == ancestor.status_code == 404
    assert unknown.content == ancestor.content
    again = _json(carol, "post", "/api/v1/partners", {"partner_id": str(world.org_a.pk)})
    assert again.status_code == 409
    link_id = added.json()["id"]
    stranger = fresh_root("Stranger Org")
    assert stranger.name not in json.dumps(seen)
    assert carol.delete(f"/api/v1/partners/{link_id}").status_code == 204
    assert not Partnership._base_manager.exists()
