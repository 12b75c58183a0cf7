"""``meterkms prove FILE --as EMAIL``: per-telegram lines, the summary, the CSV report."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from meterkms.audit.models import AuditEvent
from meterkms.cli import COMMANDS
from meterkms.core import tenancy
from meterkms.keys.proofs.rows import CSV_COLUMNS
from tests.support.personas import World

from .catalogue import random_key, topas_mode5, wmbus_device

pytestmark = pytest.mark.django_db


@pytest.fixture
def capture(world: World, tmp_path: Path) -> tuple[Path, object]:
    key = random_key()
    device = wmbus_device(world.org_a, "CLI-1", "AMT", "70000001", key)
    wmbus_device(world.org_a, "CLI-2", "AMT", "70000002", random_key())
    lines = [
        "# drive-by, 2026-11-26",
        topas_mode5("70000001", key).hex(),
        topas_mode5("70000002", key).hex(),
        topas_mode5("70000003", key).hex(),
        "telegram=|nope|",
    ]
    path = tmp_path / "capture.log"
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return path, device


def _prove(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("prove", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prove_is_a_meterkms_command():
    assert COMMANDS["prove"][1] == "prove"


def test_prints_each_telegram_and_the_summary(capture, tmp_path: Path):
    path, _device = capture
    out, _err = _prove(str(path), "--as", "OLGA@example.com")
    lines = out.splitlines()
    assert lines[0] == "line 2: AMT 70000001 mode5 2F2F=ok -> key proven (CLI-1 OMS v1)"
    assert lines[1].startswith("line 3: AMT 70000002 mode5 2F2F=fail -> wrong key? (CLI-2)")
    assert lines[2].startswith("line 4: AMT 70000003 mode5 -> no device with this address")
    assert lines[3].startswith("line 5: -> unusable line - the telegram between the bars")
    assert "3 telegrams, 1 unusable lines" in out
    assert "  key proven: 1" in out
    assert "  wrong key?: 1" in out
    assert "devices: 1 proven, 1 with keys that fail, 1 addresses without a device" in out
    with tenancy.crossing("test reads the audit log"):
        (event,) = AuditEvent.objects.filter(action="keys.proved")
    assert event.channel == "cli"
    assert event.data["source"] == str(path)


def test_writes_the_csv_report_and_can_print_the_summary_only(capture, tmp_path: Path):
    path, _device = capture
    report = tmp_path / "report.csv"
    out, err = _prove(str(path), "--as", "olga@example.com", "--csv", str(report), "--summary-only")
    assert "line 2:" not in out
    assert "3 telegrams" in out
    assert f"CSV report written to {report}" in err
    with report.open(encoding="utf-8", newline="") as written:
        rows = list(csv.reader(written))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row[0] for row in rows[1:]] == ["2", "3", "4", "5"]


def test_reads_the_capture_from_stdin(capture, monkeypatch):
    path, _device = capture
    monkeypatch.setattr("sys.stdin", io.StringIO(path.read_text(encoding="utf-8")))
    out, _err = _prove("-", "--as", "olga@example.com")
    assert "key proven (CLI-1 OMS v1)" in out


def test_refuses_unknown_users_missing_files_and_viewers(capture, tmp_path: Path):
    path, _device = capture
    with pytest.raises(CommandError, match="no active user"):
        _prove(str(path), "--as", "nobody@example.com")
    with pytest.raises(CommandError, match="no such file"):
        _prove(str(tmp_path / "missing.log"), "--as", "olga@example.com")
    report = tmp_path / "refused.csv"
    with pytest.raises(CommandError, match="does not allow"):
        _prove(str(path), "--as", "bob@example.com", "--csv", str(report))
    assert not report.exists()
    empty = tmp_path / "empty.log"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(CommandError, match="holds no telegram"):
        _prove(str(empty), "--as", "olga@example.com")
