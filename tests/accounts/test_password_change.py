"""Changing the own password: the manual's rule, forced change, other sessions end."""

from __future__ import annotations

import pytest
from django.conf import settings

from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from tests.support.clients import HttpsClient
from tests.support.personas import PASSWORD, World

NEW = "Brand-New-Secret-2026!"


def _change(client: HttpsClient, current: str, new: str, confirmation: str | None = None) -> object:
    return client.post(
        "/password/change/",
        {
            "current_password": current,
            "new_password": new,
            "confirmation": new if confirmation is None else confirmation,
        },
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Short-1!a", "at least 12"),
        ("alllowercase-123!", "upper"),
        ("ALLUPPERCASE-123!", "lower"),
        ("No-Digits-Here-At-All!", "digit"),
        ("NoSpecials1234567", "special"),
    ],
)
def test_manual_rule_is_enforced(world: World, client_for, password: str, reason: str) -> None:
    response = _change(client_for(world.alice), PASSWORD, password)
    assert response.status_code == 200
    assert reason in response.content.decode().lower() or reason in response.content.decode()
    world.alice.refresh_from_db()
    assert world.alice.check_password(PASSWORD)


@pytest.mark.django_db
def test_common_password_from_the_blocklist_is_refused(world: World, client_for) -> None:
    response = _change(client_for(world.alice), PASSWORD, "Password123!")
    assert response.status_code == 200
    world.alice.refresh_from_db()
    assert world.alice.check_password(PASSWORD)


@pytest.mark.django_db
def test_confirmation_and_current_password_must_match(world: World, client_for) -> None:
    client = client_for(world.alice)
    assert b"The two passwords differ." in _change(client, PASSWORD, NEW, NEW + "x").content
    assert b"The current password is wrong." in _change(client, "nope", NEW).content


@pytest.mark.django_db
def test_change_keeps_this_session_and_ends_the_others(world: World, client_for) -> None:
    this, other = client_for(world.alice), client_for(world.alice)
    response = _change(this, PASSWORD, NEW)
    assert response.status_code == 302
    assert this.get("/").status_code == 200
    assert other.get("/").status_code == 302
    world.alice.refresh_from_db()
    assert world.alice.check_password(NEW)
    with tenancy.crossing("test reads the audit log"):
        assert AuditEvent.objects.filter(action="user.password_changed").count() == 1


@pytest.mark.django_db
def test_admin_set_password_forces_a_change_first(world: World, client_for) -> None:
    type(world.bob)._base_manager.filter(pk=world.bob.pk).update(must_change_password=True)
    client = client_for(world.bob)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/password/change/"
    page = client.get("/password/change/")
    assert b"set by an administrator" in page.content
    api = client.get("/api/v1/me")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "password_change_required"
    assert _change(client, PASSWORD, NEW).status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_new_users_get_argon2id_with_rfc9106_parameters(world: World, settings) -> None:
    from meterkms.accounts.services import create_user
    from meterkms.organisations.permissions import Role

    settings.PASSWORD_HASHERS = [
        "meterkms.accounts.hashers.Argon2idPasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    user = create_user(
        email="hash@example.com",
        name="Hash",
        organisation=world.org_a,
        role=Role.VIEWER,
        password=NEW,
    )
    algorithm, variety, _version, params, *_ = user.password.split("$")
    assert (algorithm, variety) == ("argon2", "argon2id")
    assert params == "m=65536,t=3,p=4"
    assert user.check_password(NEW)


@pytest.mark.django_db
def test_legacy_hash_is_upgraded_at_login(world: World, settings) -> None:
    settings.PASSWORD_HASHERS = [
        "meterkms.accounts.hashers.Argon2idPasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert world.alice.password.startswith("md5$")
    client = HttpsClient()
    client.post("/login/", {"username": "alice@example.com", "password": PASSWORD})
    world.alice.refresh_from_db()
    assert world.alice.password.startswith("argon2$argon2id$")


def test_production_hasher_list_starts_with_argon2id() -> None:
    from meterkms import settings as project_settings

    assert (
        project_settings.PASSWORD_HASHERS[0] == "meterkms.accounts.hashers.Argon2idPasswordHasher"
    )
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
