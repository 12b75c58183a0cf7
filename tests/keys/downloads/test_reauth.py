"""Re-authentication: the password entered within the last five minutes before keys leave."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from meterkms.accounts import reauth
from meterkms.audit.actions import Action
from meterkms.audit.models import AuditEvent
from tests.keys.downloads.conftest import lora_device
from tests.support.clients import HttpsClient
from tests.support.mfa import enrol, next_code
from tests.support.personas import PASSWORD, World

pytestmark = pytest.mark.django_db


def _new_page(device_id: int) -> str:
    return f"/catalogue/downloads/new/?device={device_id}"


def test_a_key_download_role_without_a_second_factor_is_sent_to_set_one_up(
    world: World, client_for: Any
) -> None:
    keyed = lora_device(world.org_a, "R-1")
    response = client_for(world.olga).get(_new_page(keyed.device.pk))
    assert response.status_code == 302
    assert response[
        "Location"
    ] == "/profile/second-factor/?next=%2Fcatalogue%2Fdownloads%2Fnew%2F%3Fdevice%3D" + str(
        keyed.device.pk
    )


@pytest.mark.parametrize("required", [True, False])
def test_a_session_without_a_recent_password_is_sent_to_reauth(
    world: World, client_for: Any, required: bool
) -> None:
    keyed = lora_device(world.org_a, "R-1")
    if required:
        enrol(world.olga)
    with override_settings(METERKMS_MFA_FOR_KEYS=required):
        response = client_for(world.olga).get(_new_page(keyed.device.pk))
    assert response.status_code == 302
    assert response[
        "Location"
    ] == "/reauth/?next=%2Fcatalogue%2Fdownloads%2Fnew%2F%3Fdevice%3D" + str(keyed.device.pk)


def test_the_right_password_makes_the_session_fresh_with_a_new_id(
    world: World, client_for: Any
) -> None:
    keyed = lora_device(world.org_a, "R-1")
    enrol(world.olga)
    client = client_for(world.olga)
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    page = client.get("/reauth/?next=" + _new_page(keyed.device.pk))
    assert page.status_code == 200
    assert b'name="password"' in page.content
    assert b'name="code"' in page.content
    answer = client.post(
        "/reauth/",
        {"password": PASSWORD, "code": next_code(world.olga), "next": _new_page(keyed.device.pk)},
    )
    assert answer.status_code == 302
    assert answer["Location"] == _new_page(keyed.device.pk)
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before
    assert client.get(_new_page(keyed.device.pk)).status_code == 200
    event = AuditEvent._base_manager.filter(action=Action.USER_REAUTHENTICATED).get()
    assert event.actor_id == world.olga.pk


def test_a_wrong_password_keeps_the_session_stale_and_is_audited(
    world: World, client_for: Any
) -> None:
    keyed = lora_device(world.org_a, "R-1")
    client = client_for(world.olga)
    answer = client.post("/reauth/", {"password": "not-the-password", "next": "/"})
    assert answer.status_code == 200
    assert b"The password is wrong." in answer.content
    assert client.get(_new_page(keyed.device.pk)).status_code == 302
    assert AuditEvent._base_manager.filter(action=Action.USER_REAUTH_FAILED).count() == 1


def test_freshness_ends_after_five_minutes(world: World, fresh: Any, clock: Any) -> None:
    keyed = lora_device(world.org_a, "R-1")
    client = fresh(world.olga)
    clock(reauth.FRESH_SECONDS - 5)
    assert client.get(_new_page(keyed.device.pk)).status_code == 200
    clock(10)
    assert client.get(_new_page(keyed.device.pk)).status_code == 302


def test_a_moment_in_the_future_does_not_count(world: World, fresh: Any, clock: Any) -> None:
    keyed = lora_device(world.org_a, "R-1")
    client = fresh(world.olga)
    clock(-60)  # the clock stepped back: fail closed
    assert client.get(_new_page(keyed.device.pk)).status_code == 302


def test_logging_in_with_password_and_code_counts_as_fresh(world: World) -> None:
    keyed = lora_device(world.org_a, "R-1")
    enrol(world.olga)
    client = HttpsClient()
    login = client.post("/login/", {"username": "olga@example.com", "password": PASSWORD})
    assert login.status_code == 302
    assert login["Location"] == "/login/code/"
    second = client.post("/login/code/", {"code": next_code(world.olga)})
    assert second.status_code == 302
    assert client.get(_new_page(keyed.device.pk)).status_code == 200


def test_a_right_password_with_a_wrong_code_stays_stale(world: World, client_for: Any) -> None:
    keyed = lora_device(world.org_a, "R-1")
    enrol(world.olga)
    client = client_for(world.olga)
    wrong = f"{(int(next_code(world.olga)) + 1) % 10**6:06d}"
    answer = client.post("/reauth/", {"password": PASSWORD, "code": wrong, "next": "/"})
    assert b"The code is wrong or was used already." in answer.content
    assert client.get(_new_page(keyed.device.pk)).status_code == 302
    failed = AuditEvent._base_manager.filter(action=Action.USER_REAUTH_FAILED).get()
    assert failed.data == {"reason": "wrong_code"}
    assert AuditEvent._base_manager.filter(action=Action.USER_MFA_FAILED).count() == 1


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:1"])
def test_reauth_never_redirects_off_site(world: World, client_for: Any, target: str) -> None:
    answer = client_for(world.olga).post("/reauth/", {"password": PASSWORD, "next": target})
    assert answer.status_code == 302
    assert answer["Location"] == "/"


def test_anonymous_visitors_go_to_the_login(client: HttpsClient) -> None:
    answer = client.get("/reauth/")
    assert answer.status_code == 302
    assert "/login/" in answer["Location"]
