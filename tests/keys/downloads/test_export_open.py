"""``meterkms export open FILE``: open and verify every protection, as a recipient does."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command

from meterkms.cli import exportfile
from meterkms.devices.enums import KeySlot
from meterkms.keys.exports.manifest import ExportDescription, Exporter, Manifest
from meterkms.keys.exports.protection import (
    DeviceKey,
    Protection,
    generate_recipient_keypair,
    protect_bytes,
)
from meterkms.vault.algorithms import Algorithm

PASSWORD = "Recipient-Pass16"  # 16 bytes: fits every compatible method
PAYLOAD = b'\xef\xbb\xbf"serial";"key"\r\n"61070071";"A004EB23329A477F1DD2D7820B56EB3D"\r\n'
KEY = DeviceKey(
    "61070071", KeySlot.OMS, Algorithm.AES128, bytes.fromhex("A004EB23329A477F1DD2D7820B56EB3D")
)
PAIR = generate_recipient_keypair(2048, passphrase=PASSWORD)
SRC = Path(__file__).resolve().parents[3] / "src"


class Terminal(io.StringIO):
    """Standard input that is (or is not) a terminal."""

    def __init__(self, text: str = "", tty: bool = False) -> None:
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _file(protection: Protection, tmp_path: Path) -> Path:
    description = ExportDescription(
        format="csv",
        payload_name="keys.csv",
        media_type="text/csv",
        exporter=Exporter("Olga", "olga@example.com", "Integra"),
        download_id="dl-1",
        created_at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
    )
    secret = {
        Protection.NONE: {},
        Protection.RECIPIENT: {"recipient_public_key": PAIR.public_pem},
    }.get(protection, {"password": PASSWORD})
    data, _manifest = protect_bytes(
        PAYLOAD, protection=protection, description=description, keys=[KEY], **secret
    )
    path = tmp_path / f"keys{protection.file_suffix}"
    path.write_bytes(data)
    return path


def _run(args: list[str], stdin: str = "") -> tuple[int, bytes, str]:
    out, err = io.BytesIO(), io.StringIO()
    status = exportfile.main(args, stdin=Terminal(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("protection", list(Protection), ids=str)
def test_every_protection_opens_to_the_payload_it_carried(
    protection: Protection, tmp_path: Path
) -> None:
    path = _file(protection, tmp_path)
    args = [
        str(path),
        "--out",
        str(tmp_path / "payload.csv"),
        "--manifest",
        str(tmp_path / "m.json"),
    ]
    if protection != Protection.NONE:
        args.append("--password-stdin")
    if protection == Protection.RECIPIENT:
        args += ["--private-key", str(tmp_path / "private.pem")]
        (tmp_path / "private.pem").write_bytes(PAIR.private_pem)
    status, _out, err = _run(args, stdin=PASSWORD + "\n")
    assert status == 0, err
    assert (tmp_path / "payload.csv").read_bytes() == PAYLOAD
    assert os.stat(tmp_path / "payload.csv").st_mode & 0o777 == 0o600
    manifest = Manifest.from_json((tmp_path / "m.json").read_bytes())
    assert (manifest.device_count, manifest.key_count) == (1, 1)
    assert f"protection {protection.value}" in err
    assert ("(weak)" in err) is protection.weak
    assert "1 devices, 1 keys" in err


def test_the_payload_goes_to_standard_output_only_after_the_checks(tmp_path: Path) -> None:
    status, out, err = _run(
        [str(_file(Protection.PASSWORD, tmp_path)), "--password-stdin"], PASSWORD
    )
    assert status == 0, err
    assert out == PAYLOAD


def test_a_wrong_password_writes_nothing_and_exits_3(tmp_path: Path) -> None:
    target = tmp_path / "payload.csv"
    status, out, err = _run(
        [str(_file(Protection.PASSWORD, tmp_path)), "--password-stdin", "--out", str(target)],
        "wrong password",
    )
    assert status == exportfile.EXIT_SECRET
    assert "wrong password" in err.lower() or "password" in err
    assert out == b""
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".meterkms-")] == []


def test_a_missing_password_exits_3_without_prompting_when_not_a_terminal(tmp_path: Path) -> None:
    status, _out, err = _run([str(_file(Protection.PASSWORD, tmp_path))])
    assert status == exportfile.EXIT_SECRET
    assert "password" in err


def test_a_damaged_file_exits_4_and_leaves_no_partial_output(tmp_path: Path) -> None:
    path = _file(Protection.PASSWORD, tmp_path)
    data = bytearray(path.read_bytes())
    data[-40] ^= 0x01
    path.write_bytes(bytes(data))
    target = tmp_path / "payload.csv"
    status, _out, err = _run([str(path), "--password-stdin", "--out", str(target)], PASSWORD)
    assert status == exportfile.EXIT_DAMAGED, err
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".meterkms-")] == []


def test_a_file_that_is_not_an_export_exits_4(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    assert _run([str(path)])[0] == exportfile.EXIT_DAMAGED


def test_a_missing_file_exits_5(tmp_path: Path) -> None:
    assert _run([str(tmp_path / "nope.mkms")])[0] == exportfile.EXIT_IO


def test_meterkms_export_open_runs_without_any_server_configuration(tmp_path: Path) -> None:
    path = _file(Protection.PASSWORD, tmp_path)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("METERKMS_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env["PYTHONPATH"] = str(SRC)
    done = subprocess.run(
        [sys.executable, "-m", "meterkms", "export", "open", str(path), "--password-stdin"],
        input=PASSWORD.encode(),
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == PAYLOAD
    assert not (tmp_path / "data").exists()


@pytest.mark.django_db
def test_export_purge_runs_as_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("export", "purge")
    assert "download files deleted: 0 expired" in capsys.readouterr().out
