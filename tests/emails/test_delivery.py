"""Delivery through a real SMTP server: retries with back-off, permanent failures, no loss."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from meterkms.core import tenancy
from meterkms.emails import delivery
from meterkms.emails.enums import EmailKind, OutboxState
from meterkms.emails.models import OutboxMessage
from meterkms.emails.services import queue_email
from tests.emails.conftest import events, outbox
from tests.emails.smtp import SmtpServer, free_port, mailers_for, running_server
from tests.support.personas import World

LINK = "https://kms.example.com/password/reset/secret-token-1234/"


def _queue(world: World) -> OutboxMessage:
    return queue_email(
        kind=EmailKind.PASSWORD_RESET,
        to="olga@example.com",
        recipient_name="Olga",
        language="en",
        organisation=world.org_a,
        context={"link": LINK, "expires_at": timezone.now() + timedelta(hours=1)},
    )


def _row(message: OutboxMessage) -> OutboxMessage:
    with tenancy.crossing("test reads the outbox"):
        return OutboxMessage.objects.get(pk=message.pk)


def _make_due(message: OutboxMessage) -> None:
    OutboxMessage._base_manager.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.django_db
def test_server_down_is_survived_and_the_message_arrives_once_it_is_back(
    world: World, committed
) -> None:
    port = free_port()
    with override_settings(MAILERS=mailers_for("127.0.0.1", port)), committed():
        message = _queue(world)
    row = _row(message)
    assert row.state == OutboxState.RETRYING
    assert row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert LINK in row.payload["text"]
    assert events("email.failed") == []
    with running_server(port=port) as server, override_settings(MAILERS=server.mailers()):
        assert delivery.send_due().attempted == 0  # not due yet: the back-off holds
        _make_due(message)
        sweep = delivery.send_due()
        assert (sweep.attempted, sweep.sent) == (1, 1)
        (received,) = server.received
    assert LINK in received.part("text/plain")
    row = _row(message)
    assert (row.state, row.attempts, row.payload) == (OutboxState.SENT, 2, {})
    assert len(events("email.sent")) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_a_4xx_answer_is_temporary(world: World, smtp_server: SmtpServer, committed, stage) -> None:
    setattr(smtp_server.handler, f"{stage}_answer", "451 4.3.0 Mailbox busy, try again later")
    with committed():
        message = _queue(world)
    row = _row(message)
    assert row.state == OutboxState.RETRYING
    assert "451" in row.last_error
    assert "try again later" in row.last_error
    setattr(smtp_server.handler, f"{stage}_answer", None)
    _make_due(message)
    delivery.send_due()
    assert _row(message).state == OutboxState.SENT
    assert len(smtp_server.received) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_a_5xx_answer_is_permanent_marked_and_audited(
    world: World, smtp_server: SmtpServer, committed, stage
) -> None:
    setattr(smtp_server.handler, f"{stage}_answer", "550 5.1.1 No such user here")
    with committed():
        message = _queue(world)
    row = _row(message)
    assert row.state == OutboxState.FAILED
    assert row.attempts == 1
    assert "550" in row.last_error
    assert row.failed_at is not None
    # Kept, so an administrator can send it again after fixing the cause.
    assert LINK in row.payload["text"]
    (event,) = events("email.failed")
    assert event.data["permanent"] is True
    assert event.data["to"] == "olga@example.com"
    assert "secret-token" not in str(event.data)
    assert delivery.send_due().attempted == 0


@pytest.mark.django_db
def test_temporary_failures_become_permanent_after_the_last_attempt(
    world: World, committed, settings
) -> None:
    settings.EMAIL_MAX_ATTEMPTS = 3
    settings.MAILERS = mailers_for("127.0.0.1", free_port())
    with committed():
        message = _queue(world)
    waits = []
    for _attempt in range(2):
        row = _row(message)
        assert row.state == OutboxState.RETRYING
        waits.append(row.next_attempt_at - row.last_attempt_at)
        _make_due(message)
        delivery.send_due()
    row = _row(message)
    assert (row.state, row.attempts) == (OutboxState.FAILED, 3)
    (event,) = events("email.failed")
    assert event.data["permanent"] is False
    assert event.data["attempts"] == 3
    assert timedelta(seconds=60) <= waits[0] <= timedelta(seconds=75)
    assert timedelta(seconds=120) <= waits[1] <= timedelta(seconds=150)


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(1, 60, 75), (2, 120, 150), (5, 960, 1200), (7, 3600, 4500), (30, 3600, 4500)],
)
def test_backoff_doubles_and_is_capped_at_an_hour(attempts: int, low: int, high: int) -> None:
    for _sample in range(20):
        wait = delivery.backoff(attempts).total_seconds()
        assert low <= wait <= high


@pytest.mark.parametrize(
    ("exc", "temporary"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError("timed out"), True),
        (smtplib.SMTPServerDisconnected("gone"), True),
        (smtplib.SMTPDataError(452, b"Insufficient storage"), True),
        (smtplib.SMTPDataError(554, b"Transaction failed"), False),
        (smtplib.SMTPSenderRefused(550, b"Relay denied", "a@b"), False),
        (smtplib.SMTPAuthenticationError(535, b"Bad credentials"), False),
        (smtplib.SMTPAuthenticationError(454, b"Temporary auth failure"), True),
        (smtplib.SMTPRecipientsRefused({"a@b": (450, b"busy")}), True),
        (smtplib.SMTPRecipientsRefused({"a@b": (550, b"unknown")}), False),
        (ValueError("Invalid address"), False),
    ],
)
def test_failures_are_classified_by_their_nature(exc: Exception, temporary: bool) -> None:
    failure = delivery.classify(exc)
    assert failure.temporary is temporary
    assert failure.reason
    assert len(failure.reason) <= 500


@pytest.mark.django_db
def test_a_claim_is_exclusive_so_a_message_is_sent_once(
    world: World, smtp_server: SmtpServer
) -> None:
    message = _queue(world)
    assert delivery.attempt(message.pk) == OutboxState.SENT
    assert delivery.attempt(message.pk) == "skipped"
    assert len(smtp_server.received) == 1


@pytest.mark.django_db
def test_a_worker_that_died_mid_send_leaves_a_stale_claim_that_is_resent(
    world: World, smtp_server: SmtpServer
) -> None:
    message = _queue(world)
    OutboxMessage._base_manager.filter(pk=message.pk).update(
        state=OutboxState.SENDING,
        attempts=1,
        last_attempt_at=timezone.now() - delivery.STALE_CLAIM - timedelta(seconds=1),
    )
    sweep = delivery.send_due()
    assert (sweep.reclaimed, sweep.sent) == (1, 1)
    assert _row(message).attempts == 2
    assert smtp_server.received[0].message["Message-ID"] == message.message_id


@pytest.mark.django_db
def test_a_fresh_claim_is_left_alone(world: World, smtp_server: SmtpServer) -> None:
    message = _queue(world)
    OutboxMessage._base_manager.filter(pk=message.pk).update(
        state=OutboxState.SENDING, attempts=1, last_attempt_at=timezone.now()
    )
    assert delivery.send_due().reclaimed == 0
    assert smtp_server.received == []


@pytest.mark.django_db
def test_a_lost_enqueue_is_picked_up_by_the_next_delivery(
    world: World, smtp_server: SmtpServer, committed
) -> None:
    lost = _queue(world)  # never committed through on_commit: its task was never enqueued
    with committed():
        _queue(world)
    assert [row.state for row in outbox()] == [OutboxState.SENT, OutboxState.SENT]
    assert _row(lost).state == OutboxState.SENT
    assert len(smtp_server.received) == 2


@pytest.mark.django_db
def test_failed_messages_lose_their_deliverable_body_after_the_retention(
    world: World, smtp_server: SmtpServer, settings
) -> None:
    message = _queue(world)
    OutboxMessage._base_manager.filter(pk=message.pk).update(
        state=OutboxState.FAILED,
        failed_at=timezone.now() - timedelta(hours=settings.EMAIL_FAILED_RETENTION_HOURS + 1),
    )
    recent = _queue(world)
    OutboxMessage._base_manager.filter(pk=recent.pk).update(
        state=OutboxState.FAILED, failed_at=timezone.now()
    )
    assert delivery.send_due().redacted == 1
    assert _row(message).payload == {}
    assert _row(message).redacted_at is not None
    assert LINK in _row(recent).payload["text"]


@pytest.mark.django_db
def test_the_link_never_reaches_the_logs(
    world: World, committed, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(MAILERS=mailers_for("127.0.0.1", free_port())), committed():
        _queue(world)
    assert "next attempt" in caplog.text
    assert "secret-token" not in caplog.text


@pytest.mark.django_db
def test_a_queue_that_refuses_the_task_does_not_fail_the_sender(
    world: World, smtp_server: SmtpServer, committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meterkms.emails.services import outbox as sending

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("task queue unavailable")

    monkeypatch.setattr(sending, "enqueue_delivery", refuse)
    with committed():
        message = _queue(world)  # no exception reaches the sender
    assert _row(message).state == OutboxState.QUEUED
    monkeypatch.undo()
    assert delivery.send_due().sent == 1
    assert len(smtp_server.received) == 1
