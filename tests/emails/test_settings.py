"""Mail settings: SMTP from METERKMS_SMTP_*, the embedded file+console mailer otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PRINT = (
    "import json, django; from django.conf import settings; "
    "print(json.dumps({'mailers': settings.MAILERS, 'reset': settings.PASSWORD_RESET_MINUTES}))"
)


def _settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("METERKMS_", "DJANGO_"))}
    clean.update(
        {
            "METERKMS_DATA_DIR": str(tmp_path),
            "METERKMS_SECRET_KEY": "s" * 50,
            "METERKMS_AUDIT_KEY": "a1" * 32,
            "DJANGO_SETTINGS_MODULE": "meterkms.settings",
            "PYTHONPATH": str(SRC),
            **{f"METERKMS_{name}": value for name, value in env.items()},
        }
    )
    return subprocess.run(
        [sys.executable, "-c", PRINT], capture_output=True, text=True, env=clean, timeout=60
    )


def test_without_smtp_host_mail_goes_to_files_and_console(tmp_path: Path) -> None:
    result = _settings(tmp_path)
    mailer = json.loads(result.stdout)["mailers"]["default"]
    assert mailer["BACKEND"] == "meterkms.emails.backends.FileAndConsoleBackend"
    assert mailer["OPTIONS"] == {"file_path": str(tmp_path / "mail")}


@pytest.mark.parametrize(
    ("env", "port", "starttls", "tls"),
    [
        ({}, 587, True, False),
        ({"SMTP_STARTTLS": "false"}, 25, False, False),
        ({"SMTP_STARTTLS": "false", "SMTP_TLS": "true"}, 465, False, True),
        ({"SMTP_PORT": "2525", "SMTP_STARTTLS": "false"}, 2525, False, False),
    ],
)
def test_smtp_settings_choose_port_and_tls(tmp_path: Path, env, port, starttls, tls) -> None:
    result = _settings(
        tmp_path, SMTP_HOST="smtp.example.com", SMTP_USER="kms", SMTP_PASSWORD="pw", **env
    )
    options = json.loads(result.stdout)["mailers"]["default"]["OPTIONS"]
    assert options["host"] == "smtp.example.com"
    assert (options["port"], options["use_tls"], options["use_ssl"]) == (port, starttls, tls)
    assert (options["username"], options["password"], options["timeout"]) == ("kms", "pw", 20)


def test_tls_and_starttls_together_refuse_to_start(tmp_path: Path) -> None:
    result = _settings(tmp_path, SMTP_HOST="smtp.example.com", SMTP_TLS="true")
    assert result.returncode != 0
    assert "METERKMS_SMTP_TLS" in result.stderr
    assert "exclude each other" in result.stderr


def test_reset_links_never_live_longer_than_an_hour(tmp_path: Path) -> None:
    result = _settings(tmp_path, PASSWORD_RESET_MINUTES="600")
    assert json.loads(result.stdout)["reset"] == 60
