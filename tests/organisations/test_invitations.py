"""Invitations: the token, the email after commit, resend/revoke/edit, accepting, dead links."""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from meterkms.accounts.models import User
from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.emails.models import OutboxMessage
from meterkms.organisations import invitations
from meterkms.organisations.models import Invitation
from tests.admin_menu.helpers import NEW_PASSWORD, invitation_with_token, unique_email
from tests.support.personas import World, make_user

LINK = re.compile(r"https://\S+?/invitations/accept/([A-Za-z0-9_-]+)/")


def invite(actor: User, **extra: Any) -> Invitation:
    values: dict[str, Any] = {
        "email": unique_email("invitee"),
        "name": "Ines Invitee",
        "organisation": actor.organisation,
        "role": "OPERATOR",
        "language": "en",
    }
    values.update(extra)
    return invitations.invite_user(actor=actor, **values)


def token_sent_to(address: str) -> str:
    """The token of the last invitation mail to ``address``."""
    sent = [message for message in mail.outbox if address in message.to[0]]
    assert sent, f"no mail to {address}"
    match = LINK.search(sent[-1].body)
    assert match, sent[-1].body
    return match.group(1)


@pytest.fixture
def sent(django_capture_on_commit_callbacks: Callable[..., Any]) -> Callable[..., Any]:
    """``sent(fn, **kw)`` runs a service and lets its after-commit mail go out."""

    def run(function: Callable[..., Any], **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def _events(action: str, target: object) -> list[AuditEvent]:
    with tenancy.crossing("tests read the audit log"):
        return list(AuditEvent.objects.filter(action=action, target_id=str(target.pk)))


def accept(token: str, password: str = NEW_PASSWORD, **extra: Any) -> User:
    return invitations.accept_invitation(
        token=token, password=password, confirmation=extra.pop("confirmation", password), **extra
    )


@pytest.mark.django_db
def test_the_link_carries_256_bits_and_only_its_hash_is_stored(world: World, sent) -> None:
    invitation = sent(lambda: invite(world.adam))
    token = token_sent_to(invitation.email)
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    invitation.refresh_from_db()
    assert invitation.token_hash == invitations.hash_token(token)
    with tenancy.crossing("tests read every row that could hold the token"):
        stored = json.dumps(
            [
                list(Invitation.objects.values()),
                list(AuditEvent.objects.values()),
                list(OutboxMessage.objects.values()),
            ],
            default=str,
        )
    assert token not in stored
    [message] = mail.outbox
    assert message.to == [f"Ines Invitee <{invitation.email}>"]
    assert invitations.invitation_link(token) in message.body
    assert "Adam" in message.subject
    [event] = _events("invitation.sent", invitation)
    assert event.actor_id == world.adam.pk
    assert event.data == {"email": invitation.email, "role": "OPERATOR"}


@pytest.mark.django_db
def test_the_link_follows_the_public_url_and_the_accept_route(world: World) -> None:
    from django.urls import reverse

    with override_settings(METERKMS_PUBLIC_URL="https://kms.example.com/"):
        link = invitations.invitation_link("abc")
    assert link == "https://kms.example.com" + reverse("web:invitation_accept", args=["abc"])


@pytest.mark.django_db
def test_no_mail_leaves_when_the_transaction_fails_after_the_send_was_scheduled(
    world: World, django_capture_on_commit_callbacks
) -> None:
    email = unique_email("rollback")

    def invite_then_fail() -> None:
        with transaction.atomic():
            invite(world.adam, email=email)
            raise RuntimeError("a later step of the same transaction fails")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        invite_then_fail()
    assert mail.outbox == []
    assert not Invitation._base_manager.filter(email=email).exists()
    with tenancy.crossing("tests read the outbox"):
        assert not OutboxMessage.objects.filter(to_email=email).exists()


@pytest.mark.django_db
def test_the_expiry_follows_the_setting(world: World) -> None:
    with override_settings(METERKMS_INVITATION_HOURS=5):
        invitation = invite(world.adam)
    expected = timezone.now() + timedelta(hours=5)
    assert abs((invitation.expires_at - expected).total_seconds()) < 60
    assert (
        abs((invite(world.adam).expires_at - timezone.now() - timedelta(hours=72)).total_seconds())
        < 60
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor", "change", "code"),
    [
        ("adam", {"role": "OTC_ADMIN"}, "forbidden"),  # above own role
        ("adam", {"organisation": "org_b"}, "not_found"),  # another tree
        ("carol", {"organisation": "org_a_child"}, "not_found"),
        ("adam", {"email": "BOB@example.com"}, "conflict"),  # an account exists
        ("adam", {"email": "not an address"}, "invalid"),
        ("adam", {"language": "fr"}, "invalid"),
        ("adam", {"name": " "}, "invalid"),
        ("olga", {}, "forbidden"),  # role without users:invite
        ("bob", {}, "forbidden"),
    ],
)
def test_invitations_beyond_the_rules_are_refused(
    world: World, actor: str, change: dict, code: str
) -> None:
    person = world.people[actor]
    if "organisation" in change:
        change = {"organisation": getattr(world, change["organisation"])}
    with pytest.raises(DomainError) as refused:
        invite(person, **change)
    assert refused.value.code == code
    assert not Invitation._base_manager.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_second_pending_invitation_for_one_address_is_refused(world: World) -> None:
    first = invite(world.adam)
    with pytest.raises(DomainError, match="resend it") as refused:
        invite(world.alice, email=first.email.upper())
    assert refused.value.code == "conflict"


@pytest.mark.django_db
def test_resending_kills_the_old_link_and_the_new_one_works(world: World, sent) -> None:
    invitation = sent(lambda: invite(world.adam))
    old = token_sent_to(invitation.email)
    sent(lambda: invitations.resend_invitation(actor=world.alice, invitation=invitation))
    new = token_sent_to(invitation.email)
    assert old != new
    assert len(mail.outbox) == 2
    assert invitations.live_invitation(old) is None
    assert invitations.live_invitation(new) == invitation
    invitation.refresh_from_db()
    assert invitation.send_count == 2
    assert _events("invitation.resent", invitation)[0].actor_id == world.alice.pk
    with pytest.raises(invitations.InvalidInvitation):
        accept(old)
    assert accept(new).email == invitation.email


@pytest.mark.django_db
def test_resending_an_expired_invitation_revives_it(world: World) -> None:
    invitation, token = invitation_with_token(world.org_a, expired=True)
    assert invitation.state == "expired"
    invitations.resend_invitation(actor=world.adam, invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    assert invitations.live_invitation(token) is None


@pytest.mark.django_db
def test_revoking_kills_the_link_and_closes_the_invitation(world: World, sent) -> None:
    invitation = sent(lambda: invite(world.adam))
    token = token_sent_to(invitation.email)
    invitations.revoke_invitation(actor=world.adam, invitation=invitation)
    invitation.refresh_from_db()
    assert (invitation.state, invitation.token_hash) == ("revoked", None)
    assert invitations.live_invitation(token) is None
    assert len(_events("invitation.revoked", invitation)) == 1
    for change in (
        lambda: invitations.resend_invitation(actor=world.adam, invitation=invitation),
        lambda: invitations.revoke_invitation(actor=world.adam, invitation=invitation),
    ):
        with pytest.raises(DomainError) as refused:
            change()
        assert refused.value.code == "conflict"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_an_admin_cannot_touch_an_invitation_for_a_role_above_their_own(world: World) -> None:
    invitation = invite(world.alice, role="OTC_ADMIN")
    for change in (invitations.resend_invitation, invitations.revoke_invitation):
        with pytest.raises(DomainError) as refused:
            change(actor=world.adam, invitation=invitation)
        assert refused.value.code == "forbidden"
    with pytest.raises(DomainError) as foreign:
        invitations.revoke_invitation(actor=world.carol, invitation=invitation)
    assert foreign.value.code == "not_found"


@pytest.mark.django_db
def test_editing_keeps_the_link_unless_the_address_changes(world: World, sent) -> None:
    invitation = sent(lambda: invite(world.adam))
    token = token_sent_to(invitation.email)
    values = {
        "name": "Ines Renamed",
        "email": invitation.email,
        "organisation": world.org_a_child,
        "role": "VIEWER",
        "language": "de",
    }
    sent(lambda: invitations.update_invitation(actor=world.adam, invitation=invitation, **values))
    assert len(mail.outbox) == 1
    assert invitations.live_invitation(token) == invitation
    [event] = _events("invitation.updated", invitation)
    assert event.data == {"fields": ["language", "name", "organisation", "role"]}
    new_address = unique_email("moved")
    values["email"] = new_address
    sent(lambda: invitations.update_invitation(actor=world.adam, invitation=invitation, **values))
    assert invitations.live_invitation(token) is None
    new_token = token_sent_to(new_address)
    user = accept(new_token)
    assert (user.email, user.name, user.role, user.language) == (
        new_address,
        "Ines Renamed",
        "VIEWER",
        "de",
    )
    assert user.organisation_id == world.org_a_child.pk


@pytest.mark.django_db
def test_accepting_creates_the_account_as_invited_and_uses_up_the_link(world: World, sent) -> None:
    invitation = sent(lambda: invite(world.adam, organisation=world.org_a_child, language="sv"))
    token = token_sent_to(invitation.email)
    user = accept(token, name="Ines I. Invitee")
    assert (user.email, user.name, user.role, user.language) == (
        invitation.email,
        "Ines I. Invitee",
        "OPERATOR",
        "sv",
    )
    assert user.organisation_id == world.org_a_child.pk
    assert user.check_password(NEW_PASSWORD)
    assert not user.must_change_password
    invitation.refresh_from_db()
    assert invitation.state == "accepted"
    assert (invitation.user_id, invitation.token_hash) == (user.pk, None)
    [event] = _events("invitation.accepted", invitation)
    assert event.actor_id == user.pk
    assert len(_events("user.created", user)) == 1
    with pytest.raises(invitations.InvalidInvitation):
        accept(token)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "confirmation", "field"),
    [
        ("short-A1!", "short-A1!", "password"),
        ("Password123!", "Password123!", "password"),  # on the blocklist
        (NEW_PASSWORD, NEW_PASSWORD + "x", "confirmation"),
    ],
)
def test_a_refused_password_leaves_the_link_working(
    world: World, password: str, confirmation: str, field: str
) -> None:
    invitation, token = invitation_with_token(world.org_a)
    with pytest.raises(DomainError) as refused:
        accept(token, password, confirmation=confirmation)
    assert refused.value.code == "invalid"
    assert refused.value.details[0]["field"] == field
    assert invitations.live_invitation(token) == invitation
    assert not User._base_manager.filter(email=invitation.email).exists()


@pytest.mark.django_db
def test_an_address_taken_meanwhile_fails_the_accept_and_keeps_the_link(world: World) -> None:
    invitation, token = invitation_with_token(world.org_a)
    with tenancy.crossing("test set-up"):
        make_user(invitation.email, world.org_b)
    with pytest.raises(DomainError) as refused:
        accept(token)
    assert refused.value.code == "conflict"
    assert invitations.live_invitation(token) == invitation


def dead_link(world: World, kind: str) -> str:
    """A token that once worked (or never existed), by the reason it no longer works."""
    if kind == "unknown":
        return secrets.token_urlsafe(32)
    if kind == "expired":
        return invitation_with_token(world.org_a, expired=True)[1]
    invitation, token = invitation_with_token(world.org_a)
    if kind == "used":
        accept(token)
    elif kind == "revoked":
        invitations.revoke_invitation(actor=world.adam, invitation=invitation)
    elif kind == "superseded":
        invitations.resend_invitation(actor=world.adam, invitation=invitation)
    return token


DEAD = ("unknown", "expired", "used", "revoked", "superseded")


@pytest.mark.django_db
def test_every_dead_link_gets_the_same_refusal_from_the_service(world: World) -> None:
    answers = set()
    for kind in DEAD:
        token = dead_link(world, kind)
        assert invitations.live_invitation(token) is None
        with pytest.raises(invitations.InvalidInvitation) as refused:
            accept(token)
        answers.add((refused.value.code, refused.value.message, repr(refused.value.details)))
    assert len(answers) == 1


@pytest.mark.django_db
def test_every_dead_link_gets_the_same_page_and_status(world: World, client) -> None:
    bodies = {}
    for kind in DEAD:
        url = f"/invitations/accept/{dead_link(world, kind)}/"
        page = client.get(url)
        posted = client.post(url, {"name": "X", "password": NEW_PASSWORD, "confirmation": "x"})
        assert page.status_code == posted.status_code == 404
        assert page.content == posted.content
        bodies[kind] = page.content
    assert len(set(bodies.values())) == 1
    assert b"invalid or has expired" in bodies["used"]


@pytest.mark.django_db
def test_every_dead_link_gets_the_same_api_answer(world: World, client) -> None:
    answers = set()
    for kind in DEAD:
        response = client.post(
            "/api/v1/invitations/accept",
            data=json.dumps(
                {"token": dead_link(world, kind), "password": NEW_PASSWORD, "confirmation": "x"}
            ),
            content_type="application/json",
        )
        answers.add((response.status_code, response.content))
    [(status, body)] = answers
    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"
