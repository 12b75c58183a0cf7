"""API tokens: shown once, hash stored, bound to the organisation, limited by role."""

from __future__ import annotations

import json

import pytest

from meterkms.accounts.models import ApiToken
from meterkms.accounts.services import create_api_token, hash_token, revoke_api_token
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from tests.support.clients import HttpsClient
from tests.support.mfa import enrol, next_code
from tests.support.personas import PASSWORD, World


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.mark.django_db
def test_token_is_stored_only_as_hash_and_works_as_bearer(world: World) -> None:
    row, token = create_api_token(user=world.olga, name="head-end", scopes=None)
    assert token.startswith("mkms_")
    assert len(token) >= 45
    assert row.token_hash == hash_token(token)
    with tenancy.crossing("test reads every token row"):
        stored = json.dumps(list(ApiToken.objects.values()), default=str)
    assert token not in stored
    me = HttpsClient().get("/api/v1/me", **_bearer(token))
    assert me.status_code == 200
    body = me.json()
    assert body["email"] == "olga@example.com"
    assert body["via_token"] is True
    assert body["organisation"]["name"] == "Integra"


@pytest.mark.django_db
def test_scopes_limit_the_token_below_its_user(world: World) -> None:
    _row, token = create_api_token(user=world.alice, name="read-only", scopes=["devices:read"])
    me = HttpsClient().get("/api/v1/me", **_bearer(token)).json()
    assert me["permissions"] == ["devices:read"]
    audit = HttpsClient().get("/api/v1/audit", **_bearer(token))
    assert audit.status_code == 403
    assert audit.json()["error"]["code"] == "forbidden"


@pytest.mark.django_db
def test_token_cannot_exceed_the_users_role(world: World) -> None:
    with pytest.raises(DomainError, match="beyond your role"):
        create_api_token(user=world.olga, name="x", scopes=["audit:read"])
    with pytest.raises(DomainError):
        create_api_token(user=world.bob, name="viewer", scopes=None)


@pytest.mark.django_db
def test_lowering_the_role_lowers_the_token_at_once(world: World) -> None:
    _row, token = create_api_token(user=world.adam, name="admin", scopes=None)
    client = HttpsClient()
    assert client.get("/api/v1/audit", **_bearer(token)).status_code == 200
    type(world.adam)._base_manager.filter(pk=world.adam.pk).update(role="VIEWER")
    assert client.get("/api/v1/audit", **_bearer(token)).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["revoked", "deactivated", "moved", "garbage", "missing"])
def test_unusable_tokens_get_401(world: World, how: str) -> None:
    row, token = create_api_token(user=world.olga, name="x", scopes=None)
    user_manager = type(world.olga)._base_manager
    if how == "revoked":
        revoke_api_token(token=row, actor=world.olga)
    elif how == "deactivated":
        user_manager.filter(pk=world.olga.pk).update(is_active=False)
    elif how == "moved":
        user_manager.filter(pk=world.olga.pk).update(organisation=world.org_a_child)
    elif how == "garbage":
        token = token[:-3] + "xyz"
    headers = {} if how == "missing" else _bearer(token)
    response = HttpsClient().get("/api/v1/me", **headers)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "unauthenticated",
            "message": "Authenticate with a bearer token or a browser session.",
            "details": [],
        }
    }


@pytest.mark.django_db
def test_create_list_and_revoke_over_the_api(world: World, client_for) -> None:
    client = client_for(world.olga)
    created = client.post(
        "/api/v1/tokens",
        data=json.dumps({"name": "ci", "scopes": ["devices:read", "tokens:manage"]}),
        content_type="application/json",
    )
    assert created.status_code == 201
    token = created.json()["token"]
    listed = client.get("/api/v1/tokens").json()
    assert [item["name"] for item in listed] == ["ci"]
    assert "token" not in listed[0]
    assert token not in json.dumps(listed)
    revoked = client.delete(f"/api/v1/tokens/{created.json()['id']}")
    assert revoked.status_code == 204
    assert HttpsClient().get("/api/v1/me", **_bearer(token)).status_code == 401


@pytest.mark.django_db
def test_a_token_cannot_mint_a_stronger_token(world: World) -> None:
    _row, token = create_api_token(
        user=world.alice, name="narrow", scopes=["tokens:manage", "devices:read"]
    )
    response = HttpsClient().post(
        "/api/v1/tokens",
        data=json.dumps({"name": "wide", "scopes": ["audit:read"]}),
        content_type="application/json",
        **_bearer(token),
    )
    assert response.status_code == 403
    ok = HttpsClient().post(
        "/api/v1/tokens",
        data=json.dumps({"name": "same"}),
        content_type="application/json",
        **_bearer(token),
    )
    assert ok.status_code == 201
    assert sorted(ok.json()["scopes"]) == ["devices:read", "tokens:manage"]


@pytest.mark.django_db
def test_validation_errors_share_the_error_shape(world: World, client_for) -> None:
    response = client_for(world.olga).post(
        "/api/v1/tokens", data="{}", content_type="application/json"
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert any(detail["field"].endswith("name") for detail in error["details"])


@pytest.mark.django_db
def test_token_page_shows_the_token_once(world: World, client_for) -> None:
    client = client_for(world.olga)
    page = client.post("/admin/tokens/", {"name": "meter reading", "scopes": ["devices:read"]})
    assert page.status_code == 200
    text = page.content.decode()
    assert "shown only this once" in text
    with tenancy.crossing("test"):
        row = ApiToken.objects.get(name="meter reading")
    assert row.prefix in text
    again = client.get("/admin/tokens/").content.decode()
    assert "shown only this once" not in again
    assert row.prefix in again


def _create_over_the_api(client: HttpsClient, body: dict) -> object:
    return client.post("/api/v1/tokens", data=json.dumps(body), content_type="application/json")


@pytest.mark.django_db
def test_a_session_mints_a_key_download_token_only_with_a_fresh_second_factor(
    world: World, client_for
) -> None:
    client = client_for(world.olga)
    everything = _create_over_the_api(client, {"name": "all"})  # all scopes: keys:download too
    assert everything.status_code == 403
    assert everything.json()["error"]["code"] == "second_factor_required"
    enrol(world.olga)
    stale = _create_over_the_api(client, {"name": "keys", "scopes": ["keys:download"]})
    assert stale.json()["error"]["code"] == "reauthentication_required"
    client.post("/reauth/", {"password": PASSWORD, "code": next_code(world.olga)})
    fresh = _create_over_the_api(client, {"name": "keys", "scopes": ["keys:download"]})
    assert fresh.status_code == 201
    assert ApiToken._base_manager.filter(user=world.olga).count() == 1


@pytest.mark.django_db
def test_the_token_page_asks_for_a_fresh_second_factor_before_a_key_download_token(
    world: World, client_for
) -> None:
    enrol(world.olga)
    client = client_for(world.olga)
    body = {"name": "head-end", "scopes": ["keys:download"]}
    refused = client.post("/admin/tokens/", body)
    assert refused.status_code == 200
    assert b"needs a second factor and a fresh login" in refused.content
    assert b'href="/reauth/?next=%2Fadmin%2Ftokens%2F"' in refused.content
    assert not ApiToken._base_manager.filter(user=world.olga).exists()
    client.post("/reauth/", {"password": PASSWORD, "code": next_code(world.olga)})
    created = client.post("/admin/tokens/", body)
    assert b'id="new-token"' in created.content
    assert ApiToken._base_manager.filter(user=world.olga).count() == 1
