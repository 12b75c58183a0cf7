"""Forgot password: same answer for every address, a 256-bit single-use link that dies early."""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from meterkms.accounts import mfa
from meterkms.accounts.models import User
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.emails import account
from meterkms.emails.models import PasswordReset
from tests.emails.conftest import events, outbox
from tests.emails.smtp import SmtpServer
from tests.support.clients import HttpsClient
from tests.support.mfa import enrol
from tests.support.personas import PASSWORD, World

NEW_PASSWORD = "Brand-New-Secret-2026!"
LINK = re.compile(r"https://[^/\s]+(/password/reset/([A-Za-z0-9_-]+)/)")


def _forgot(client: HttpsClient, email: str) -> object:
    return client.post("/password/forgot/", {"email": email})


def _link_from(server: SmtpServer) -> tuple[str, str]:
    match = LINK.search(server.received[-1].part("text/plain"))
    assert match, "no reset link in the email"
    return match.group(1), match.group(2)


def _normalised(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def _login(email: str, password: str) -> int:
    response = HttpsClient().post("/login/", {"username": email, "password": password})
    return response.status_code


def _reset_through_the_browser(path: str, password: str = NEW_PASSWORD) -> HttpsClient:
    client = HttpsClient()
    opened = client.get(path)
    assert opened.status_code == 302
    assert opened["Location"] == "/password/reset/"
    form = client.get("/password/reset/")
    assert b"Choose a new password" in form.content
    done = client.post("/password/reset/", {"new_password": password, "confirmation": password})
    assert done.status_code == 302, done.content.decode()
    assert done["Location"] == "/login/"
    return client


@pytest.mark.django_db
def test_the_login_page_offers_forgot_password(client: HttpsClient) -> None:
    page = client.get("/login/").content.decode()
    assert 'href="/password/forgot/"' in page
    assert "Forgot password?" in page


@pytest.mark.django_db
def test_forgot_password_sends_a_link_that_sets_a_new_password(
    world: World, smtp_server: SmtpServer, committed
) -> None:
    with committed():
        answer = _forgot(HttpsClient(), "OLGA@example.com")
    assert answer.status_code == 200
    (received,) = smtp_server.received
    assert received.rcpt_tos == ["olga@example.com"]
    assert received.message["Subject"] == "Reset your meterkms password"
    path, token = _link_from(smtp_server)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert f'href="https://127.0.0.1:8443{path}"' in received.part("text/html")
    with tenancy.crossing("test"):
        stored = list(PasswordReset.objects.values())
    assert token not in str(stored)
    assert stored[0]["token_hash"] == account.hash_token(token)
    assert token not in str([vars(message) for message in outbox()])
    client = _reset_through_the_browser(path)
    page = client.get("/login/").content.decode()
    assert "Your new password is set. Log in with it." in page
    assert _login("olga@example.com", PASSWORD) == 200
    assert _login("olga@example.com", NEW_PASSWORD) == 302
    (event,) = events("user.password_reset")
    assert event.actor_id == world.olga.pk
    assert event.organisation_name == "Integra"
    assert len(events("user.password_reset_requested")) == 1


@pytest.mark.django_db
def test_the_answer_is_identical_for_known_and_unknown_addresses(
    world: World, smtp_server: SmtpServer, committed
) -> None:
    with committed():
        known = _forgot(HttpsClient(), "olga@example.com")
        unknown = _forgot(HttpsClient(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert _normalised(known.content) == _normalised(unknown.content)
    assert b"If an account uses this address" in known.content
    assert len(smtp_server.received) == 1
    requested = events("user.password_reset_requested")
    assert [event.data for event in requested] == [
        {"email": "olga@example.com"},
        {"unknown_account": True},
    ]


@pytest.mark.django_db
def test_the_page_does_the_same_work_for_known_and_unknown_addresses(world: World) -> None:
    """With the real task queue the request only enqueues; timing cannot tell the two apart."""
    tasks = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client = HttpsClient()
    timings: dict[str, list[float]] = {"olga@example.com": [], "nobody@example.com": []}
    with override_settings(TASKS=tasks):
        for _round in range(25):
            for email, samples in timings.items():
                start = time.perf_counter()
                _forgot(client, email)
                samples.append(time.perf_counter() - start)
        queued = DBTaskResult.objects.filter(task_path__endswith="handle_password_reset_request")
        assert queued.count() == 50
    difference = abs(
        statistics.median(timings["olga@example.com"])
        - statistics.median(timings["nobody@example.com"])
    )
    assert difference < 0.010
    with tenancy.crossing("test"):
        assert PasswordReset.objects.count() == 0


@pytest.mark.django_db
def test_a_link_works_once(world: World, smtp_server: SmtpServer, committed) -> None:
    with committed():
        account.issue_password_reset(email="olga@example.com")
    path, token = _link_from(smtp_server)
    _reset_through_the_browser(path)
    again = HttpsClient().get(path)
    assert again.status_code == 200
    assert b"This link is invalid or has expired." in again.content
    with pytest.raises(DomainError, match="invalid or has expired"):
        account.reset_password(
            token=token, new_password="X-" + NEW_PASSWORD, confirmation="X-" + NEW_PASSWORD
        )


def _issued(world: World) -> str:
    account.issue_password_reset(email="olga@example.com")
    message = outbox()[-1]
    assert message.payload
    match = LINK.search(message.payload["text"])
    assert match
    return match.group(2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "how",
    [
        "expired",
        "logged_in_later",
        "password_changed",
        "superseded",
        "deactivated",
        "email_changed",
        "garbage",
    ],
)
def test_a_link_dies_when_the_account_moves_on(world: World, how: str) -> None:
    token = _issued(world)
    assert account.check_password_reset(token) is not None
    users = User._base_manager.filter(pk=world.olga.pk)
    if how == "expired":
        PasswordReset._base_manager.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif how == "logged_in_later":
        assert _login("olga@example.com", PASSWORD) == 302
    elif how == "password_changed":
        user = users.get()
        user.set_password("Another-Password-77!")
        user.save(update_fields=["password"])
    elif how == "superseded":
        _issued(world)
    elif how == "deactivated":
        users.update(is_active=False)
    elif how == "email_changed":
        users.update(email="olga.new@example.com")
    else:
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert account.check_password_reset(token) is None
    with pytest.raises(DomainError) as refused:
        account.reset_password(token=token, new_password=NEW_PASSWORD, confirmation=NEW_PASSWORD)
    assert refused.value.message == "This link is invalid or has expired."


@pytest.mark.django_db
def test_links_live_at_most_sixty_minutes(world: World) -> None:
    before = timezone.now()
    _issued(world)
    with tenancy.crossing("test"):
        reset = PasswordReset.objects.get()
    assert reset.expires_at - before <= timedelta(minutes=60, seconds=1)
    assert settings.PASSWORD_RESET_MINUTES <= 60


@pytest.mark.django_db
def test_a_refused_password_keeps_the_link_usable(world: World) -> None:
    token = _issued(world)
    with pytest.raises(DomainError) as refused:
        account.reset_password(token=token, new_password="short", confirmation="short")
    assert refused.value.details[0]["field"] == "new_password"
    with pytest.raises(DomainError) as differ:
        account.reset_password(token=token, new_password=NEW_PASSWORD, confirmation="other")
    assert differ.value.details[0]["field"] == "confirmation"
    account.reset_password(token=token, new_password=NEW_PASSWORD, confirmation=NEW_PASSWORD)
    assert _login("olga@example.com", NEW_PASSWORD) == 302


@pytest.mark.django_db
def test_a_throttled_account_can_log_in_again_after_a_reset(world: World) -> None:
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        HttpsClient().post(
            "/login/",
            {"username": "Olga@Example.com", "password": f"Wrong-{attempt}!"},
            REMOTE_ADDR=f"10.1.0.{attempt + 1}",
        )
    # The throttle counts the address as typed; the reset lifts it in every spelling.
    assert _login("Olga@Example.com", PASSWORD) == 429
    token = _issued(world)
    account.reset_password(token=token, new_password=NEW_PASSWORD, confirmation=NEW_PASSWORD)
    assert _login("Olga@Example.com", NEW_PASSWORD) == 302


@pytest.mark.django_db
def test_other_sessions_end_with_the_reset(world: World, client_for) -> None:
    session = client_for(world.olga)
    assert session.get("/").status_code == 200
    token = _issued(world)
    account.reset_password(token=token, new_password=NEW_PASSWORD, confirmation=NEW_PASSWORD)
    assert session.get("/").status_code == 302


@pytest.mark.django_db
def test_too_many_requests_send_nothing_more(world: World) -> None:
    for _request in range(account.THROTTLE_COUNT):
        assert account.issue_password_reset(email="olga@example.com") is not None
    assert account.issue_password_reset(email="olga@example.com") is None
    assert len(outbox()) == account.THROTTLE_COUNT
    assert events("user.password_reset_requested")[-1].data["throttled"] is True


@pytest.mark.django_db
def test_inactive_accounts_get_no_link(world: World) -> None:
    User._base_manager.filter(pk=world.bob.pk).update(is_active=False)
    assert account.issue_password_reset(email="bob@example.com") is None
    assert outbox() == []


@pytest.mark.django_db
def test_the_reset_email_uses_the_users_language_and_organisation(world: World) -> None:
    User._base_manager.filter(pk=world.olga.pk).update(language="de")
    _issued(world)
    message = outbox()[-1]
    assert message.subject == "Passwort für meterkms zurücksetzen"
    assert message.organisation == world.org_a
    assert "Der Link ist bis" in message.body_text


@pytest.mark.django_db
def test_a_reset_does_not_bypass_the_second_factor(world: World) -> None:
    enrol(world.olga)
    token = _issued(world)
    account.reset_password(token=token, new_password=NEW_PASSWORD, confirmation=NEW_PASSWORD)
    client = HttpsClient()
    answer = client.post("/login/", {"username": "olga@example.com", "password": NEW_PASSWORD})
    assert answer.status_code == 302
    assert answer["Location"] == "/login/code/"
    assert client.get("/").status_code == 302  # not logged in without the code
    assert mfa.is_enabled(User._base_manager.get(pk=world.olga.pk))
