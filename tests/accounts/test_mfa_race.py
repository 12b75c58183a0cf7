"""One code sent many times at once is accepted once (PostgreSQL, real concurrency).

Threads with their own connections verify the same code at the same moment; the row lock on
the user's app (``SELECT … FOR UPDATE``) and the conditional update of a recovery code let
exactly one through. SQLite's in-memory test database cannot hold concurrent writers; there
every write is serialised anyway.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from meterkms.accounts import mfa
from meterkms.accounts.models import User
from meterkms.audit.actions import Action
from meterkms.audit.models import AuditEvent
from tests.support.mfa import code_at, current_step, enrol, secret_of
from tests.support.personas import World
from tests.support.race import at_once

CONTENDERS = 10
ROUNDS = 5
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

pytestmark = [
    pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
]


def _assert_one_accepted(results: list[str]) -> None:
    # The others are refused like any wrong code (and, counted as failures, may lock the
    # app's codes for a while: a replay is no less suspicious than a guess).
    assert len(results) == CONTENDERS, results
    assert results.count("ok") == 1, results
    assert set(results) - {"ok"} <= {"wrong", "locked"}, results


def _race(user: User, code: str) -> list[str]:
    return at_once(lambda: mfa.verify(user=user, code=code, purpose="login").value, CONTENDERS)


@pytest.fixture
def step_clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    now = [(current_step() + 10) * mfa.STEP_SECONDS + 1.0]
    monkeypatch.setattr(mfa, "clock", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


def test_an_app_code_sent_ten_times_at_once_is_accepted_once(world: World, step_clock: Any) -> None:
    enrol(world.olga)
    secret = secret_of(world.olga)
    for _round in range(ROUNDS):
        step_clock(mfa.LOCK_SECONDS + mfa.STEP_SECONDS)  # past any lock of the last round
        _assert_one_accepted(_race(world.olga, code_at(secret, current_step())))
    verified = AuditEvent._base_manager.filter(action=Action.USER_MFA_VERIFIED).count()
    assert verified == ROUNDS


def test_a_recovery_code_sent_ten_times_at_once_is_accepted_once(world: World) -> None:
    codes = enrol(world.olga)
    for code in codes[:ROUNDS]:
        _assert_one_accepted(_race(world.olga, code))
    assert mfa.remaining_recovery_codes(world.olga) == len(codes) - ROUNDS
