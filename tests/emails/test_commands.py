"""``meterkms manage outbox``: status per state, and sending what is due."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from meterkms.emails.enums import EmailKind, OutboxState
from meterkms.emails.models import OutboxMessage
from meterkms.emails.services import queue_email
from tests.emails.smtp import SmtpServer
from tests.support.personas import World


def _queue(world: World) -> OutboxMessage:
    return queue_email(
        kind=EmailKind.PASSWORD_RESET,
        to="olga@example.com",
        recipient_name="Olga",
        language="en",
        organisation=world.org_a,
        context={
            "link": "https://e.example/r/t/",
            "expires_at": timezone.now() + timedelta(hours=1),
        },
    )


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("outbox", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_send_due_sends_waiting_messages(world: World, smtp_server: SmtpServer) -> None:
    first, second = _queue(world), _queue(world)
    OutboxMessage._base_manager.filter(pk=second.pk).update(
        state=OutboxState.RETRYING, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    assert "queued     1" in _run("status")
    assert _run("send-due").startswith("attempted 1, sent 1")
    assert len(smtp_server.received) == 1
    assert OutboxMessage._base_manager.get(pk=first.pk).state == OutboxState.SENT
    status = _run("status")
    assert "sent       1" in status
    assert "retrying   1" in status
