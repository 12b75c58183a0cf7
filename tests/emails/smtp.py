"""A real SMTP server for tests: aiosmtpd on a free loopback port, with scripted answers.

The server keeps every accepted message. ``refuse_rcpt`` / ``refuse_data`` make it answer
the next commands with an SMTP error (e.g. ``451 4.3.0 Try again later`` or
``550 5.1.1 No such user``), so tests can drive temporary and permanent failures.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from django.test import override_settings


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    """One message as the server got it: envelope and parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]

    def part(self, content_type: str) -> str:
        """The decoded body part of ``content_type`` (``text/plain`` or ``text/html``)."""
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return str(part.get_content())
        raise AssertionError(f"no {content_type} part")


@dataclass
class Handler:
    """aiosmtpd handler: stores messages, or answers with a scripted error."""

    received: list[Received] = field(default_factory=list)
    rcpt_answer: str | None = None
    data_answer: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_answer:
            return self.data_answer
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A running test server: where it listens and what it got."""

    host: str
    port: int
    handler: Handler

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def mailers(self) -> dict[str, Any]:
        """A MAILERS setting that sends through this server (plain SMTP, no TLS)."""
        return mailers_for(self.host, self.port)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Wait until ``count`` messages arrived (for tests where another process sends)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.received
            time.sleep(0.1)
        raise AssertionError(f"expected {count} messages, got {len(self.received)}")


def mailers_for(host: str, port: int) -> dict[str, Any]:
    """MAILERS for a plain SMTP server at host:port with a short timeout."""
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": host, "port": port, "timeout": 5},
        }
    }


@contextmanager
def running_server(host: str = "127.0.0.1", port: int | None = None) -> Iterator[SmtpServer]:
    """Start aiosmtpd on ``host``:``port`` (a free one by default) for the block."""
    handler = Handler()
    controller = Controller(handler, hostname=host, port=port or free_port())
    controller.start()
    try:
        yield SmtpServer(host=host, port=controller.port, handler=handler)
    finally:
        controller.stop()


@contextmanager
def sending_to(server_host: str, port: int) -> Iterator[None]:
    """Route the default mailer to an SMTP server for the block."""
    with override_settings(MAILERS=mailers_for(server_host, port)):
        yield
