"""The embedded mailer: every email becomes a ``.eml`` file in the data directory and a
readable copy on the console.

Without ``METERKMS_SMTP_HOST`` this is the default mailer, so a user of ``python3 dev.py run``
can open an invitation or reset link without any mail server: from the terminal, or by
opening the file in a mail program. Files are created with mode 0600 in a 0700 directory
because they hold live links. It is meant for development and demos; production uses SMTP.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

_RULE = "-" * 72


class FileAndConsoleBackend(BaseEmailBackend):
    """Writes each message to ``<file_path>/<time>-<random>.eml`` and echoes it readably."""

    def __init__(self, *, file_path: str, stream: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.file_path = Path(file_path).resolve()
        self.file_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.stream = stream
        self._lock = threading.Lock()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        """Store and echo every message; returns how many were handled."""
        count = 0
        with self._lock:
            for message in email_messages:
                path = self._write(message)
                self._echo(message, path)
                count += 1
        return count

    def _write(self, message: EmailMessage) -> Path:
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        path = self.file_path / f"{stamp}-{secrets.token_hex(4)}.eml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(message.message().as_bytes())
        return path

    def _echo(self, message: EmailMessage, path: Path) -> None:
        stream = self.stream or sys.stdout
        lines = [
            _RULE,
            f"Email to: {', '.join(message.to)}",
            f"From: {message.from_email}",
            f"Subject: {message.subject}",
            f"Saved as: {path}",
            "",
            str(message.body).rstrip(),
            _RULE,
            "",
        ]
        stream.write("\n".join(lines))
        stream.flush()
