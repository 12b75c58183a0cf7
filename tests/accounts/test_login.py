"""Login and logout: audited, throttled before the hasher, new session id, safe cookies."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher

from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from tests.support.clients import HttpsClient
from tests.support.personas import PASSWORD, World


def _events(action: str) -> list[AuditEvent]:
    with tenancy.crossing("test reads the audit log"):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def _normalised(content: bytes, email: bytes) -> bytes:
    """The page without the typed address and the per-client CSRF token."""
    content = content.replace(email, b"X")
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def _login(client: HttpsClient, email: str, password: str, **extra: str) -> object:
    return client.post("/login/", {"username": email, "password": password}, **extra)


@pytest.mark.django_db
def test_login_lands_on_start_page_with_both_menus(world: World) -> None:
    client = HttpsClient()
    response = _login(client, "ALICE@example.com", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    text = home.content.decode()
    assert "Admin" in text
    assert "Device catalogue" in text
    assert "Welcome, Alice" in text
    (event,) = _events("user.login")
    assert event.actor_id == world.alice.pk
    assert event.organisation_name == "Integra"


@pytest.mark.django_db
def test_login_issues_a_new_session_id_with_safe_cookie_flags(world: World) -> None:
    client = HttpsClient()
    client.get("/login/")
    client.session["probe"] = 1
    before = client.cookies.get(settings.SESSION_COOKIE_NAME)
    _login(client, "alice@example.com", PASSWORD)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert before is None or cookie.value != before.value
    assert settings.SESSION_COOKIE_NAME.startswith("__Host-")
    assert cookie["secure"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


@pytest.mark.django_db
def test_wrong_password_and_unknown_email_get_the_same_answer(world: World) -> None:
    wrong = _login(HttpsClient(), "alice@example.com", "Wrong-Password-123!")
    unknown = _login(HttpsClient(), "nobody@example.com", "Wrong-Password-123!")
    assert wrong.status_code == unknown.status_code == 200
    assert b"The email address or the password is wrong." in wrong.content
    assert _normalised(wrong.content, b"alice@example.com") == _normalised(
        unknown.content, b"nobody@example.com"
    )
    failures = _events("user.login_failed")
    assert [event.data for event in failures] == [
        {"email": "alice@example.com"},
        {"unknown_account": True},
    ]
    assert failures[0].organisation_name == "Integra"


@pytest.mark.django_db
def test_repeated_failures_are_throttled_before_the_password_hasher(world: World) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [
        _login(
            HttpsClient(),
            "alice@example.com",
            f"Wrong-{attempt}-Password!",
            REMOTE_ADDR=f"10.0.0.{attempt + 1}",
        ).status_code
        for attempt in range(limit)
    ]
    assert statuses == [200] * (limit - 1) + [429]
    with mock.patch.object(MD5PasswordHasher, "verify", autospec=True) as verify:
        locked = _login(HttpsClient(), "alice@example.com", PASSWORD, REMOTE_ADDR="10.9.9.9")
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    verify.assert_not_called()
    assert len(_events("user.locked_out")) == 2


@pytest.mark.django_db
def test_case_and_space_variants_of_an_email_share_one_lockout(world: World) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    variants = [
        "alice@example.com",
        "ALICE@example.com",
        " Alice@Example.com ",
        "alice@EXAMPLE.COM",
    ]
    statuses = [
        _login(
            HttpsClient(),
            variants[attempt % len(variants)],
            f"Wrong-{attempt}-Password!",
            REMOTE_ADDR=f"10.1.0.{attempt + 1}",
        ).status_code
        for attempt in range(limit)
    ]
    assert statuses[-1] == 429
    locked = _login(HttpsClient(), "aLiCe@example.com", PASSWORD, REMOTE_ADDR="10.9.9.8")
    assert locked.status_code == 429


@pytest.mark.django_db
def test_inactive_user_cannot_log_in_and_loses_sessions(world: World, client_for) -> None:
    client = client_for(world.bob)
    assert client.get("/").status_code == 200
    type(world.bob)._base_manager.filter(pk=world.bob.pk).update(is_active=False)
    response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert _login(HttpsClient(), "bob@example.com", PASSWORD).status_code == 200


@pytest.mark.django_db
def test_logout_is_post_only_and_kills_the_session(world: World, client_for) -> None:
    client = client_for(world.alice)
    assert client.get("/logout/").status_code == 405
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.post("/logout/").status_code == 302
    replay = HttpsClient()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert replay.get("/").status_code == 302
    assert len(_events("user.logout")) == 1


@pytest.mark.django_db
def test_idle_session_expires(world: World, client_for) -> None:
    client = client_for(world.alice)
    assert client.get("/").status_code == 200
    with mock.patch(
        "meterkms.accounts.middleware.time.time",
        return_value=__import__("time").time() + settings.SESSION_IDLE_SECONDS + 5,
    ):
        response = client.get("/")
    assert response.status_code == 302


@pytest.mark.django_db
def test_open_redirect_after_login_is_refused(world: World) -> None:
    client = HttpsClient()
    response = client.post(
        "/login/?next=https://evil.example/",
        {"username": "alice@example.com", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"
