"""The `meterkms` command, run as a user runs it: in a fresh data directory, as a process."""

from __future__ import annotations

import base64
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("METERKMS_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        {
            "METERKMS_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(SRC),
            "METERKMS_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def meterkms(
    data_dir: Path, *args: str, timeout: float = 120, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meterkms", *args],
        capture_output=True,
        text=True,
        env=_env(data_dir, **extra),
        timeout=timeout,
        cwd=data_dir,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = meterkms(tmp_path, "--help")
    assert result.returncode == 0
    for command in ("serve", "migrate", "createadmin", "demo", "worker", "check", "bench"):
        assert f"  {command}" in result.stdout


def test_init_creates_private_secret_files_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = meterkms(tmp_path, "init", METERKMS_DATA_DIR=str(data))
    assert first.returncode == 0, first.stderr
    files = {name: data / name for name in ("secret.key", "audit.key", "master.key")}
    contents = {}
    for name, path in files.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        contents[name] = path.read_text()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert len(bytes.fromhex(contents["master.key"].strip())) == 32
    again = meterkms(tmp_path, "init", METERKMS_DATA_DIR=str(data))
    assert "kept" in again.stdout
    assert {name: path.read_text() for name, path in files.items()} == contents


@pytest.fixture
def ready(tmp_path: Path) -> Path:
    """A data directory after init and migrate."""
    assert meterkms(tmp_path, "init").returncode == 0
    migrated = meterkms(tmp_path, "migrate", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    return tmp_path


BAD_KEYS = {
    "missing": (None, "does not exist"),
    "all-zero": ("00" * 32, "the key is all zeros"),
    "too-short": ("11" * 15, "(15 bytes); a master key is 64 hex digits (32 bytes)"),
    "barbican-default": (
        base64.b64encode(b"thirty_two_byte_keyblahblahblahh").decode(),
        "Barbican's default master key",
    ),
    "fips-example": (bytes(range(32)).hex(), "published example key"),
    "garbage": ("zz-not-hex-and-not-base64!", "neither 64 hex digits nor base64"),
}


@pytest.mark.parametrize("case", sorted(BAD_KEYS))
def test_serve_refuses_a_bad_master_key_before_opening_a_port(ready: Path, case: str) -> None:
    content, problem = BAD_KEYS[case]
    key_file = ready / "master.key"
    if content is None:
        key_file.unlink()
    else:
        key_file.write_text(content)
    port = _free_port()
    started = time.monotonic()
    result = meterkms(ready, "serve", "--port", str(port), "--no-worker", timeout=30)
    assert time.monotonic() - started < 15
    assert result.returncode != 0
    assert "cannot start" in result.stderr
    assert problem in result.stderr
    assert not _listening(port)


def test_serve_refuses_a_master_key_that_does_not_open_the_check_blob(ready: Path) -> None:
    assert meterkms(ready, "demo").returncode == 0  # stores keys, hence the check blob
    (ready / "master.key").write_text(os.urandom(32).hex())
    port = _free_port()
    result = meterkms(ready, "serve", "--port", str(port), "--no-worker", timeout=30)
    assert result.returncode != 0
    assert "does not open the stored check blob: wrong key?" in result.stderr
    assert not _listening(port)


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    assert meterkms(tmp_path, "init").returncode == 0
    result = meterkms(tmp_path, "serve", "--port", str(_free_port()), timeout=30)
    assert result.returncode != 0
    assert "run `meterkms migrate`" in result.stderr


def test_demo_is_idempotent_and_prints_the_login(ready: Path) -> None:
    first = meterkms(ready, "demo", METERKMS_DEMO_PASSWORD="Demo-Password-2026!")
    assert first.returncode == 0, first.stderr
    assert "demo@integra-metering.com" in first.stdout
    assert "Demo-Password-2026!" in first.stdout
    assert "https://127.0.0.1:8443/" in first.stdout
    second = meterkms(ready, "demo", METERKMS_DEMO_PASSWORD="Demo-Password-2026!")
    assert second.returncode == 0, second.stderr
    generated = meterkms(ready, "demo")
    assert generated.returncode == 0


def test_demo_generates_and_keeps_a_password_when_none_is_given(ready: Path) -> None:
    first = meterkms(ready, "demo")
    second = meterkms(ready, "demo")
    password_file = ready / "demo-password"
    password = password_file.read_text().strip()
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert password in first.stdout
    assert password in second.stdout


def test_audit_verify_passes_then_detects_tampering(ready: Path) -> None:
    assert meterkms(ready, "demo").returncode == 0
    ok = meterkms(ready, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "chain intact" in ok.stdout
    import sqlite3

    database = sqlite3.connect(ready / "meterkms.sqlite3")
    database.execute("DROP TRIGGER audit_event_no_update")
    database.execute("UPDATE audit_auditevent SET action = 'user.login' WHERE seq = 1")
    database.commit()
    database.close()
    broken = meterkms(ready, "audit", "verify")
    assert broken.returncode != 0
    assert "row #1: row does not match its chain value" in broken.stderr


def test_createadmin_reads_the_password_from_stdin_and_checks_the_policy(ready: Path) -> None:
    args = [
        sys.executable,
        "-m",
        "meterkms",
        "createadmin",
        "--email",
        "ops@example.com",
        "--name",
        "Ops",
        "--organisation",
        "Manufacturer",
        "--password-stdin",
    ]
    weak = subprocess.run(
        args,
        input="short\n",
        capture_output=True,
        text=True,
        env=_env(ready),
        cwd=ready,
        timeout=120,
    )
    assert weak.returncode != 0
    assert "at least 12" in weak.stderr
    good = subprocess.run(
        args,
        input="Operator-Password-77!\n",
        capture_output=True,
        text=True,
        env=_env(ready),
        cwd=ready,
        timeout=120,
    )
    assert good.returncode == 0, good.stderr
    assert "created ops@example.com (OTC_ADMIN) in Manufacturer" in good.stdout


def test_unknown_command_says_so(tmp_path: Path) -> None:
    result = meterkms(tmp_path, "frobnicate")
    assert result.returncode == 2
    assert "unknown command 'frobnicate'" in result.stderr
