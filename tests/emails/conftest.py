"""Fixtures of the emails tests: a real SMTP server, outbox helpers, sent-after-commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings

from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.emails.models import OutboxMessage
from tests.emails.smtp import SmtpServer, running_server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """aiosmtpd on a free loopback port; the default mailer sends to it."""
    with running_server() as server, override_settings(MAILERS=server.mailers()):
        yield server


@pytest.fixture
def committed(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> Callable[[], Any]:
    """``with committed(): …`` runs the block's on-commit callbacks (sending) at its end."""

    def make() -> Any:
        return django_capture_on_commit_callbacks(execute=True)

    return make


def outbox() -> list[OutboxMessage]:
    """Every outbox row, oldest first."""
    with tenancy.crossing("test reads the whole outbox"):
        return list(OutboxMessage.objects.order_by("pk"))


def events(action: str) -> list[AuditEvent]:
    """Audit events of ``action``, oldest first."""
    with tenancy.crossing("test reads the audit log"):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))
