"""The embedded mailer: a .eml file in the data directory and a readable console copy."""

from __future__ import annotations

import email
import email.policy
import io
import stat
from pathlib import Path

import pytest
from django.core import mail
from django.test import override_settings

from meterkms.emails.backends import FileAndConsoleBackend

LINK = (
    "https://127.0.0.1:8443/invitations/accept/a-very-long-token-that-must-stay-whole-0123456789/"
)


def _mailers(path: Path) -> dict:
    return {
        "default": {
            "BACKEND": "meterkms.emails.backends.FileAndConsoleBackend",
            "OPTIONS": {"file_path": str(path)},
        }
    }


def _message() -> mail.EmailMultiAlternatives:
    message = mail.EmailMultiAlternatives(
        subject="Einladung zu meterkms – bitte annehmen",
        body=f"Guten Tag Nina,\n\nEinladung annehmen:\n{LINK}\n",
        from_email="meterkms <no-reply@localhost>",
        to=["Nina Neu <nina@example.com>"],
    )
    message.attach_alternative(f'<a href="{LINK}">Einladung annehmen</a>', "text/html")
    return message


def test_each_message_becomes_a_private_eml_file_with_both_bodies(tmp_path: Path) -> None:
    stream = io.StringIO()
    backend = FileAndConsoleBackend(file_path=str(tmp_path / "mail"), stream=stream)
    assert backend.send_messages([_message(), _message()]) == 2
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    assert stat.S_IMODE((tmp_path / "mail").stat().st_mode) == 0o700
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "Nina Neu <nina@example.com>"
    assert parsed["Subject"] == "Einladung zu meterkms – bitte annehmen"
    assert LINK in parsed.get_body(("plain",)).get_content()
    assert LINK in parsed.get_body(("html",)).get_content()


def test_the_console_copy_shows_the_link_in_one_piece(tmp_path: Path) -> None:
    stream = io.StringIO()
    FileAndConsoleBackend(file_path=str(tmp_path), stream=stream).send_messages([_message()])
    printed = stream.getvalue()
    assert "Email to: Nina Neu <nina@example.com>" in printed
    assert "Subject: Einladung zu meterkms – bitte annehmen" in printed
    assert LINK in printed.splitlines()
    saved = next(tmp_path.glob("*.eml"))
    assert f"Saved as: {saved}" in printed


def test_it_is_the_mailer_of_the_settings_without_smtp_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with override_settings(MAILERS=_mailers(tmp_path)):
        assert _message().send() == 1
    assert LINK in capsys.readouterr().out
    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_unknown_options_are_refused_like_any_mailer(tmp_path: Path) -> None:
    mailers = _mailers(tmp_path)
    mailers["default"]["OPTIONS"]["colour"] = "blue"
    with override_settings(MAILERS=mailers), pytest.raises(mail.InvalidMailer, match="colour"):
        mail.mailers.default  # noqa: B018
