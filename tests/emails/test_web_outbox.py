"""The outbox pages: state, attempts and last error, masked bodies, sending again."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from meterkms.emails.enums import EmailKind, OutboxState
from meterkms.emails.models import OutboxMessage
from meterkms.emails.services import queue_email
from tests.emails.conftest import events
from tests.emails.smtp import SmtpServer, free_port, mailers_for
from tests.support.personas import World

SECRET = "https://kms.example.com/invitations/accept/very-secret-token-42/"
OUTBOX = "/admin/emails/outbox/"


def _queue(organisation, to: str = "nina@example.com") -> OutboxMessage:
    return queue_email(
        kind=EmailKind.INVITE_USER,
        to=to,
        recipient_name="Nina",
        language="en",
        organisation=organisation,
        context={
            "link": SECRET,
            "expires_at": timezone.now() + timedelta(hours=72),
            "inviter_name": "Alice",
            "role": "Viewer",
        },
    )


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="message-(\d+)"', html)


@pytest.mark.django_db
def test_the_outbox_lists_state_attempts_and_error_of_the_own_tree_only(
    world: World, client_for, committed
) -> None:
    with override_settings(MAILERS=mailers_for("127.0.0.1", free_port())), committed():
        waiting = _queue(world.org_a_child)
        foreign = _queue(world.org_b, to="carol.friend@example.com")
    html = client_for(world.adam).get(OUTBOX).content.decode()
    assert _rows(html) == [str(waiting.pk)]
    assert "waiting for retry" in html
    assert "ConnectionRefusedError" in html
    assert "nina@example.com" in html
    assert "Total emails: 1" in html
    assert "very-secret-token" not in html
    assert "carol.friend" not in html
    carol = client_for(world.carol).get(OUTBOX).content.decode()
    assert _rows(carol) == [str(foreign.pk)]


@pytest.mark.django_db
def test_the_outbox_filters_by_state_and_recipient(world: World, client_for) -> None:
    first = _queue(world.org_a)
    second = _queue(world.org_a, to="other@example.com")
    OutboxMessage._base_manager.filter(pk=second.pk).update(state=OutboxState.FAILED)
    client = client_for(world.alice)
    assert _rows(client.get(OUTBOX, {"state": "failed"}).content.decode()) == [str(second.pk)]
    assert _rows(client.get(OUTBOX, {"recipient": "OTHER@"}).content.decode()) == [str(second.pk)]
    assert set(_rows(client.get(OUTBOX, {"recipient": "nina"}).content.decode())) == {
        str(first.pk),
        str(second.pk),
    }
    assert _rows(client.get(OUTBOX, {"state": "sent"}).content.decode()) == []


@pytest.mark.django_db
def test_the_detail_masks_the_link_in_both_bodies(world: World, client_for) -> None:
    message = _queue(world.org_a)
    client = client_for(world.alice)
    page = client.get(f"{OUTBOX}{message.pk}/").content.decode()
    assert "Alice invites you to meterkms" in page
    assert "••••••" in page
    assert "very-secret-token" not in page
    assert f'src="{OUTBOX}{message.pk}/body.html"' in page
    framed = client.get(f"{OUTBOX}{message.pk}/body.html")
    assert b"very-secret-token" not in framed.content
    assert "sandbox" in framed["Content-Security-Policy"]
    assert "Send again now" not in page  # queued, not failed


@pytest.mark.django_db
def test_a_failed_message_can_be_sent_again_and_arrives(
    world: World, client_for, smtp_server: SmtpServer, committed
) -> None:
    message = _queue(world.org_a)
    OutboxMessage._base_manager.filter(pk=message.pk).update(
        state=OutboxState.FAILED, attempts=3, failed_at=timezone.now(), last_error="550 nope"
    )
    client = client_for(world.alice)
    assert "Send again now" in client.get(f"{OUTBOX}{message.pk}/").content.decode()
    with committed():
        answer = client.post(f"{OUTBOX}{message.pk}/retry/")
    assert answer["Location"] == f"{OUTBOX}{message.pk}/"
    (received,) = smtp_server.received
    assert SECRET in received.part("text/plain")
    row = OutboxMessage._base_manager.get(pk=message.pk)
    assert (row.state, row.attempts, row.payload) == (OutboxState.SENT, 1, {})
    (requeued,) = events("email.requeued")
    assert requeued.data == {"previous_state": "failed", "attempts": 3}
    assert requeued.actor_id == world.alice.pk


@pytest.mark.django_db
def test_sending_again_is_refused_once_the_body_is_gone(world: World, client_for) -> None:
    message = _queue(world.org_a)
    OutboxMessage._base_manager.filter(pk=message.pk).update(
        state=OutboxState.FAILED, payload={}, failed_at=timezone.now()
    )
    page = client_for(world.alice).post(f"{OUTBOX}{message.pk}/retry/", follow=True)
    assert "The body of this message has been removed" in page.content.decode()
    assert OutboxMessage._base_manager.get(pk=message.pk).state == OutboxState.FAILED


@pytest.mark.django_db
def test_a_sent_message_cannot_be_sent_again(world: World, client_for) -> None:
    message = _queue(world.org_a)
    OutboxMessage._base_manager.filter(pk=message.pk).update(state=OutboxState.SENT)
    page = client_for(world.alice).post(f"{OUTBOX}{message.pk}/retry/", follow=True)
    assert "Only failed or waiting messages can be sent again." in page.content.decode()
