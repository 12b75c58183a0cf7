"""32 processes claim the same device at once, round after round: exactly one wins.

Real processes with their own database connections, on PostgreSQL at READ COMMITTED and on
the SQLite test database file (WAL, BEGIN IMMEDIATE): the claim is a conditional UPDATE,
so isolation levels and timing do not decide the outcome. Every loser gets a clear
conflict (409 over the API) and the audit log holds exactly one claim per device.
``METERKMS_CLAIM_RACE_ROUNDS=500`` runs the issue's full figure.
"""

from __future__ import annotations

import os
import sys

import pytest
from django.db import connection

from meterkms.audit.models import AuditEvent
from meterkms.audit.services import verify
from meterkms.batches.services import claim_batch, create_batch
from meterkms.devices.models import Device
from tests.batches.helpers import devices, fresh, partner, typed
from tests.batches.race import race
from tests.support.personas import World

CONTENDERS = 32
ROUNDS = int(os.environ.get("METERKMS_CLAIM_RACE_ROUNDS", "50"))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_exactly_one_of_32_concurrent_claims_wins_every_round(world: World) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            assert cursor.fetchone()[0] == "read committed"
    partner(world.org_a, world.org_b)
    stock = devices(world.org_a, "RACE", ROUNDS)
    serials = [device.serial for device in stock]
    batch = create_batch(
        actor=fresh(world.alice), reference="RACE", recipient=world.org_b, serials=typed(*serials)
    )
    outcomes, elapsed = race(world.cecil.pk, [device.pk for device in stock], CONTENDERS)
    print(  # the figure for the notes; shown with -s
        f"\n{connection.vendor}: {ROUNDS} rounds x {CONTENDERS} processes in {elapsed:.1f} s",
        file=sys.stderr,
    )
    for number, results in enumerate(outcomes):
        assert len(results) == CONTENDERS, number
        assert [r for r in results if r.startswith("error")] == [], number
        assert results.count("won claim") == 1, (number, results)
        assert results.count("conflict") == CONTENDERS - 1, number
    claims = AuditEvent._base_manager.filter(action="device.claimed")
    assert claims.count() == ROUNDS
    assert sorted(claims.values_list("target_id", flat=True)) == sorted(
        str(device.pk) for device in stock
    )
    rows = Device._base_manager.filter(batch=batch)
    assert set(rows.values_list("claim_status", "owner_id", "claimable_by_id")) == {
        ("CLAIMED", world.org_b.pk, None)
    }
    assert verify().ok


DECIDERS = 8
DECISION_ROUNDS = 10


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_claim_request_is_decided_once_when_confirm_and_reject_race(world: World) -> None:
    partner(world.org_a, world.org_b)
    requests = []
    for number in range(DECISION_ROUNDS):
        stock = devices(world.org_a, f"DEC{number}-", 2)
        batch = create_batch(
            actor=fresh(world.alice),
            reference=f"DEC{number}",
            recipient=world.org_b,
            serials=typed(*[device.serial for device in stock]),
            needs_confirmation=True,
        )
        requests.append(claim_batch(actor=fresh(world.cecil), batch=batch).requests[0])
    outcomes, _elapsed = race(
        world.alice.pk, [r.pk for r in requests], DECIDERS, actions=("confirm", "reject")
    )
    for request, results in zip(requests, outcomes, strict=True):
        assert [r for r in results if r.startswith("error")] == []
        winners = [r for r in results if r.startswith("won")]
        assert len(winners) == 1, results
        assert results.count("conflict") == DECIDERS - 1
        request.refresh_from_db()
        assert request.state == ("confirmed" if winners[0] == "won confirm" else "rejected")
        expected = {"confirmed": "CLAIMED", "rejected": "UNCLAIMED"}[request.state]
        statuses = Device._base_manager.filter(batch=request.batch).values_list(
            "claim_status", flat=True
        )
        assert set(statuses) == {expected}
    decisions = AuditEvent._base_manager.filter(action__in=["claim.confirmed", "claim.rejected"])
    assert decisions.count() == DECISION_ROUNDS
    assert verify().ok
