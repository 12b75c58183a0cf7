"""Changing the email address: it takes effect only after the new mailbox confirms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from meterkms.accounts.models import User
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.emails import account
from meterkms.emails.models import EmailChange
from tests.emails.conftest import events, outbox
from tests.emails.smtp import SmtpServer
from tests.support.clients import HttpsClient
from tests.support.personas import PASSWORD, World

LINK = re.compile(r"https://[^/\s]+(/email/confirm/([A-Za-z0-9_-]+)/)")


def _login(email: str) -> int:
    return HttpsClient().post("/login/", {"username": email, "password": PASSWORD}).status_code


def _request(client: HttpsClient, new_email: str, password: str = PASSWORD) -> object:
    return client.post("/profile/email/", {"new_email": new_email, "current_password": password})


def _token_of_last_email() -> tuple[str, str]:
    match = LINK.search(outbox()[-1].payload["text"])
    assert match
    return match.group(1), match.group(2)


def _email_of(user: User) -> str:
    return User._base_manager.get(pk=user.pk).email


@pytest.mark.django_db
def test_the_new_address_takes_effect_only_after_confirmation(
    world: World, client_for, smtp_server: SmtpServer, committed
) -> None:
    client = client_for(world.olga)
    assert "Change email address" in client.get("/profile/").content.decode()
    with committed():
        answer = _request(client, "Olga.Neu@Example.org")
    assert answer.status_code == 302
    page = client.get("/profile/email/").content.decode()
    assert "We have sent a link to olga.neu@example.org." in page
    assert "Waiting for confirmation: olga.neu@example.org" in page
    (received,) = smtp_server.received
    assert received.rcpt_tos == ["olga.neu@example.org"]
    assert received.message["Subject"] == "Please confirm your new email address"
    match = LINK.search(received.part("text/plain"))
    assert match
    path = match.group(1)
    assert _email_of(world.olga) == "olga@example.com"
    assert _login("olga.neu@example.org") == 200
    visitor = HttpsClient()
    opened = visitor.get(path)
    assert (opened.status_code, opened["Location"]) == (302, "/email/confirm/")
    confirm = visitor.get("/email/confirm/").content.decode()
    assert "The account olga@example.com is to use the address olga.neu@example.org" in confirm
    assert _email_of(world.olga) == "olga@example.com"  # a GET never confirms
    done = visitor.post("/email/confirm/")
    assert (done.status_code, done["Location"]) == (302, "/login/")
    assert _email_of(world.olga) == "olga.neu@example.org"
    assert _login("olga.neu@example.org") == 302
    assert _login("olga@example.com") == 200
    assert b"This link is invalid or has expired." in HttpsClient().get(path).content
    (requested,) = events("user.email_change_requested")
    assert requested.data == {"new_email": "olga.neu@example.org"}
    (changed,) = events("user.email_changed")
    assert changed.data == {"old_email": "olga@example.com", "new_email": "olga.neu@example.org"}
    with tenancy.crossing("test"):
        assert match.group(2) not in str(list(EmailChange.objects.values()))


@pytest.mark.django_db
def test_the_current_password_is_required(world: World, client_for) -> None:
    page = _request(client_for(world.olga), "x@example.org", password="wrong")
    assert page.status_code == 200
    assert "The current password is wrong." in page.content.decode()
    assert outbox() == []


@pytest.mark.django_db
def test_an_address_of_another_account_is_refused_at_confirmation(world: World) -> None:
    change = account.request_email_change(
        user=world.olga, new_email="bob@example.com", actor=world.olga
    )
    assert change.new_email == "bob@example.com"  # the request tells nothing
    _path, token = _token_of_last_email()
    with pytest.raises(DomainError) as refused:
        account.confirm_email_change(token=token)
    assert refused.value.code == "conflict"
    assert _email_of(world.olga) == "olga@example.com"
    assert events("user.email_changed") == []


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["cancelled", "superseded", "expired", "email_changed", "inactive"])
def test_a_confirmation_link_dies_with_its_request(world: World, how: str) -> None:
    account.request_email_change(user=world.olga, new_email="first@example.org", actor=world.olga)
    _path, token = _token_of_last_email()
    if how == "cancelled":
        account.cancel_email_change(user=world.olga)
    elif how == "superseded":
        account.request_email_change(
            user=world.olga, new_email="second@example.org", actor=world.olga
        )
    elif how == "expired":
        EmailChange._base_manager.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif how == "email_changed":
        User._base_manager.filter(pk=world.olga.pk).update(email="other@example.org")
    else:
        User._base_manager.filter(pk=world.olga.pk).update(is_active=False)
    assert account.check_email_change(token) is None
    with pytest.raises(DomainError, match="invalid or has expired"):
        account.confirm_email_change(token=token)


@pytest.mark.django_db
def test_the_same_address_and_unusable_addresses_are_refused(world: World) -> None:
    with pytest.raises(DomainError, match="current email address"):
        account.request_email_change(
            user=world.olga, new_email="OLGA@example.com", actor=world.olga
        )
    with pytest.raises(DomainError):
        account.request_email_change(user=world.olga, new_email="not-an-address", actor=world.olga)
    assert outbox() == []


@pytest.mark.django_db
def test_a_pending_change_can_be_cancelled_from_the_page(world: World, client_for) -> None:
    client = client_for(world.olga)
    _request(client, "later@example.org")
    assert account.pending_email_change(world.olga) is not None
    answer = client.post("/profile/email/cancel/")
    assert answer.status_code == 302
    assert account.pending_email_change(world.olga) is None
    assert "has been cancelled" in client.get("/profile/email/").content.decode()


@pytest.mark.django_db
def test_a_reset_link_sent_to_the_old_address_dies_with_the_change(world: World) -> None:
    account.issue_password_reset(email="olga@example.com")
    reset_token = re.search(r"/password/reset/([A-Za-z0-9_-]+)/", outbox()[-1].payload["text"])
    assert reset_token
    account.request_email_change(user=world.olga, new_email="neu@example.org", actor=world.olga)
    _path, token = _token_of_last_email()
    account.confirm_email_change(token=token)
    assert account.check_password_reset(reset_token.group(1)) is None


@pytest.mark.django_db
def test_the_confirmation_email_goes_to_the_new_address_in_the_users_language(
    world: World,
) -> None:
    User._base_manager.filter(pk=world.olga.pk).update(language="es")
    olga = User._base_manager.get(pk=world.olga.pk)
    account.request_email_change(user=olga, new_email="nueva@example.org", actor=olga)
    message = outbox()[-1]
    assert message.to_email == "nueva@example.org"
    assert message.subject == "Confirme su nueva dirección de correo electrónico"
    assert "(nueva@example.org)" in message.body_text
