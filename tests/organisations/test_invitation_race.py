"""Twenty concurrent accepts of one link create exactly one account, on both databases.

Real concurrency: threads with their own database connections race on the conditional
UPDATE that claims the invitation (no read-then-write), at PostgreSQL's default READ
COMMITTED and on an SQLite file in WAL mode with BEGIN IMMEDIATE.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.organisations.race import new_invitation, outcome_of, race
from tests.support.personas import World

ROOT = Path(__file__).resolve().parents[2]
CONTENDERS = 20
ROUNDS = int(os.environ.get("METERKMS_RACE_ROUNDS", "20"))  # 200 before a release
#: Transactional tests cannot run on SQLite here: its flush would delete audit events.
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _assert_one_winner(rounds: list[dict]) -> None:
    assert len(rounds) == ROUNDS
    for outcome in rounds:
        assert outcome["errors"] == []
        assert (outcome["won"], outcome["lost"]) == (1, CONTENDERS - 1)
        assert outcome["accounts"] == 1
        assert outcome["accepted_events"] == 1
        assert outcome["state"] == "accepted"
        assert outcome["user_matches"]


@pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.slow
def test_twenty_concurrent_accepts_on_postgresql_give_exactly_one_account(world: World) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        assert cursor.fetchone()[0] == "read committed"
    rounds = []
    for number in range(ROUNDS):
        email = f"race-{number}@example.net"
        invitation, token = new_invitation(world.org_a, email)
        rounds.append(outcome_of(invitation, email, race(token, CONTENDERS)))
    _assert_one_winner(rounds)


@pytest.mark.slow
def test_twenty_concurrent_accepts_on_an_sqlite_file_give_exactly_one_account(
    tmp_path: Path,
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("METERKMS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.organisations.race",
            str(tmp_path / "race.sqlite3"),
            str(ROUNDS),
            str(CONTENDERS),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_one_winner(json.loads(result.stdout.strip().splitlines()[-1]))
