"""The second factor in the browser: login in two steps, the set-up page, the admin reset."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.conf import settings

from meterkms.accounts import mfa, reauth
from meterkms.accounts.models import TotpDevice
from meterkms.audit.actions import Action
from meterkms.audit.models import AuditEvent
from tests.support.clients import HttpsClient
from tests.support.mfa import code_at, current_step, enrol, next_code
from tests.support.personas import PASSWORD, World

pytestmark = pytest.mark.django_db

DOWNLOAD_PAGE = "/catalogue/downloads/new/?device=1"


def _password_step(email: str = "olga@example.com") -> tuple[HttpsClient, Any]:
    client = HttpsClient()
    answer = client.post("/login/", {"username": email, "password": PASSWORD})
    return client, answer


def test_a_user_with_a_second_factor_logs_in_in_two_steps(world: World) -> None:
    enrol(world.olga)
    client, answer = _password_step()
    assert answer.status_code == 302
    assert answer["Location"] == "/login/code/"
    assert client.get("/").status_code == 302  # nobody is logged in yet
    page = client.get("/login/code/")
    assert page.status_code == 200
    assert b'name="code"' in page.content
    assert b'autocomplete="one-time-code"' in page.content
    session_before = client.cookies[settings.SESSION_COOKIE_NAME].value
    done = client.post("/login/code/", {"code": next_code(world.olga)})
    assert done.status_code == 302
    assert done["Location"] == "/"
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != session_before
    assert client.get("/").status_code == 200
    assert AuditEvent._base_manager.filter(action=Action.USER_LOGIN).count() == 1
    verified = AuditEvent._base_manager.get(action=Action.USER_MFA_VERIFIED)
    assert verified.data["purpose"] == "login"


def test_the_login_keeps_its_target_through_the_second_step(world: World) -> None:
    enrol(world.olga)
    client = HttpsClient()
    client.post(
        "/login/",
        {"username": "olga@example.com", "password": PASSWORD, "next": "/catalogue/devices/"},
    )
    done = client.post("/login/code/", {"code": next_code(world.olga)})
    assert done["Location"] == "/catalogue/devices/"


def test_a_recovery_code_logs_in_too(world: World) -> None:
    codes = enrol(world.olga)
    client, _answer = _password_step()
    assert client.post("/login/code/", {"code": codes[3]}).status_code == 302
    assert client.get("/").status_code == 200
    assert mfa.remaining_recovery_codes(world.olga) == 9


def test_a_wrong_code_logs_nobody_in_and_says_so(world: World) -> None:
    enrol(world.olga)
    client, _answer = _password_step()
    wrong = f"{(int(next_code(world.olga)) + 500_000) % 10**6:06d}"
    answer = client.post("/login/code/", {"code": wrong})
    assert answer.status_code == 200
    assert b"The code is wrong or was used already." in answer.content
    assert client.get("/").status_code == 302
    assert AuditEvent._base_manager.filter(action=Action.USER_MFA_FAILED).count() == 1
    assert not AuditEvent._base_manager.filter(action=Action.USER_LOGIN).exists()


def test_the_second_step_expires_after_five_minutes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrol(world.olga)
    client, _answer = _password_step()
    real = reauth.clock
    monkeypatch.setattr(reauth, "clock", lambda: real() + reauth.FRESH_SECONDS + 1)
    answer = client.post("/login/code/", {"code": next_code(world.olga)})
    assert answer.status_code == 302
    assert answer["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_the_code_page_without_a_password_step_sends_to_the_login(world: World) -> None:
    answer = HttpsClient().post("/login/code/", {"code": "123456"})
    assert answer.status_code == 302
    assert answer["Location"] == "/login/"


def test_a_user_without_a_second_factor_logs_in_with_the_password_alone(world: World) -> None:
    _client, answer = _password_step()
    assert answer.status_code == 302
    assert answer["Location"] == "/"


def test_setting_up_the_app_on_the_profile(world: World, client_for: Any) -> None:
    client = client_for(world.olga)
    profile = client.get("/profile/")
    assert b"Zweiter Faktor" in profile.content or b"Second factor" in profile.content
    # the page wants a fresh password first
    first = client.get("/profile/second-factor/?next=" + DOWNLOAD_PAGE)
    assert first.status_code == 302
    assert first["Location"].startswith("/reauth/")
    client.post("/reauth/", {"password": PASSWORD})
    page = client.get("/profile/second-factor/?next=" + DOWNLOAD_PAGE)
    assert page.status_code == 200
    assert b"segno" in page.content
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]
    shown = re.search(rb"data-secret>([A-Z2-7 ]+)<", page.content)
    assert shown is not None
    secret_text = shown.group(1).decode().replace(" ", "")
    secret = base64.b32decode(secret_text + "=" * (-len(secret_text) % 8))
    again = client.get("/profile/second-factor/")
    assert shown.group(0) in again.content  # a reload keeps the secret the app may have
    wrong = client.post(
        "/profile/second-factor/",
        {"action": "confirm", "code": "12345x", "next": DOWNLOAD_PAGE},
    )
    assert wrong.status_code == 200
    assert b"segno" in wrong.content
    assert not mfa.is_enabled(world.olga)
    done = client.post(
        "/profile/second-factor/",
        {"action": "confirm", "code": code_at(secret, current_step()), "next": DOWNLOAD_PAGE},
    )
    assert done.status_code == 200
    codes = re.findall(rb"<li>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})</li>", done.content)
    assert len(codes) == mfa.RECOVERY_CODE_COUNT
    assert DOWNLOAD_PAGE.encode() in done.content
    assert mfa.is_enabled(world.olga)
    # set up just now: the session counts as fresh with both factors
    assert reauth.SESSION_SECOND_FACTOR_AT in client.session
    status = client.get("/profile/second-factor/")
    assert b"10" in status.content
    assert b"segno" not in status.content
    assert AuditEvent._base_manager.filter(action=Action.USER_MFA_ENABLED).count() == 1


def test_new_recovery_codes_and_removal_on_the_profile(world: World, client_for: Any) -> None:
    enrol(world.olga)
    client = client_for(world.olga)
    client.post("/reauth/", {"password": PASSWORD, "code": next_code(world.olga)})
    fresh_codes = client.post("/profile/second-factor/", {"action": "codes"})
    assert len(re.findall(rb"<li>[A-Z2-7]{4}-", fresh_codes.content)) == 10
    removed = client.post("/profile/second-factor/", {"action": "remove"})
    assert removed.status_code == 302
    assert removed["Location"] == "/profile/"
    assert not mfa.is_enabled(world.olga)


def test_removal_needs_the_code_too(world: World, client_for: Any) -> None:
    enrol(world.olga)
    client = client_for(world.olga)
    client.post("/reauth/", {"password": PASSWORD})  # no code: not fresh
    answer = client.post("/profile/second-factor/", {"action": "remove"})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/reauth/")
    assert mfa.is_enabled(world.olga)


def test_an_administrator_resets_a_second_factor_from_the_user_list(
    world: World, client_for: Any
) -> None:
    enrol(world.olga)
    enrol(world.cecil)
    admin = client_for(world.adam)
    listing = admin.get("/admin/users/")
    assert f"/admin/users/{world.olga.pk}/second-factor/reset/".encode() in listing.content
    answer = admin.post(f"/admin/users/{world.olga.pk}/second-factor/reset/")
    assert answer.status_code == 302
    assert not TotpDevice._base_manager.filter(user=world.olga).exists()
    foreign = admin.post(f"/admin/users/{world.cecil.pk}/second-factor/reset/")
    assert foreign.status_code == 404
    assert mfa.is_enabled(world.cecil)


def test_the_user_list_and_the_api_tell_who_has_a_second_factor(
    world: World, client_for: Any
) -> None:
    enrol(world.olga)
    admin = client_for(world.adam)
    listing = admin.get("/admin/users/").content.decode()
    olga_row = listing[listing.index("olga@example.com") - 600 : listing.index("olga@example.com")]
    bob_row = listing[listing.index("bob@example.com") - 600 : listing.index("bob@example.com")]
    assert ">2FA</span>" in olga_row.rsplit("<tr>", 1)[-1]
    assert ">2FA</span>" not in bob_row.rsplit("<tr>", 1)[-1]
    users = admin.get("/api/v1/users").json()["items"]
    flags = {user["email"]: user["mfa_enabled"] for user in users}
    assert flags["olga@example.com"] is True
    assert flags["bob@example.com"] is False
    one = admin.get(f"/api/v1/users/{world.olga.pk}").json()
    assert one["mfa_enabled"] is True
