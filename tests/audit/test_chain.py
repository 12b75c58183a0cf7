"""The audit log: chained, append-only, and every kind of tampering is detected."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, transaction

from meterkms.audit.actions import Action
from meterkms.audit.models import AuditEvent, AuditHead
from meterkms.audit.services import MASK, record, verify
from meterkms.core import tenancy
from tests.support.personas import World

TABLE = AuditEvent._meta.db_table
ROWS = 20


def _events(world: World, count: int) -> None:
    for index in range(count):
        record(
            Action.USER_PROFILE_CHANGED,
            actor=world.alice,
            target=world.bob,
            data={"fields": ["name"], "n": index},
        )


@contextmanager
def _triggers_off() -> Iterator[None]:
    """Let raw SQL tamper with the log, as an attacker with database access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Reverted with the savepoint; needs the superuser the tests connect as.
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute("DROP TRIGGER audit_event_no_delete")
    yield


def _sql(statement: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _seqs() -> list[int]:
    return list(AuditEvent._base_manager.order_by("seq").values_list("seq", flat=True))


def _edit_field(rng: random.Random) -> None:
    seq = rng.choice(_seqs())
    column, value = rng.choice(
        [
            ("action", "keys.downloaded"),
            ("actor_label", "Mallory <m@example.com>"),
            ("target_repr", "someone else"),
            ("data", '{"fields": ["role"]}'),
            ("ip", "10.6.6.6"),
            ("channel", "cli"),
        ]
    )
    _sql(f"UPDATE {TABLE} SET {column} = %s WHERE seq = %s", [value, seq])


def _delete_row(rng: random.Random) -> None:
    seqs = _seqs()
    _sql(f"DELETE FROM {TABLE} WHERE seq = %s", [rng.choice(seqs[:-1])])


def _insert_row(rng: random.Random) -> None:
    """Shift the tail up and insert a forged row (with a chain value under a guessed key)."""
    seqs = _seqs()
    at = rng.choice(seqs)
    for seq in reversed(seqs):
        if seq >= at:
            _sql(f"UPDATE {TABLE} SET seq = %s WHERE seq = %s", [seq + 1, seq])
    row = AuditEvent._base_manager.filter(seq=at + 1).values().get()
    row.pop("id")
    row.update(seq=at, action="user.login", chain="ab" * 32)
    AuditEvent._base_manager.bulk_create([AuditEvent(**row)])


def _reorder(rng: random.Random) -> None:
    first, second = rng.sample(_seqs(), 2)
    _sql(f"UPDATE {TABLE} SET seq = -1 WHERE seq = %s", [first])
    _sql(f"UPDATE {TABLE} SET seq = %s WHERE seq = %s", [first, second])
    _sql(f"UPDATE {TABLE} SET seq = %s WHERE seq = -1", [second])


def _truncate(rng: random.Random) -> None:
    seqs = _seqs()
    cut = rng.randint(1, 5)
    _sql(f"DELETE FROM {TABLE} WHERE seq > %s", [seqs[-1] - cut])


def _unchained(rng: random.Random) -> None:
    _sql(f"UPDATE {TABLE} SET chain = '' WHERE seq = %s", [rng.choice(_seqs())])


def _rewind_head(rng: random.Random) -> None:
    """Truncate and rewrite the head to the new last row (without the audit key)."""
    _truncate(rng)
    last = AuditEvent._base_manager.order_by("-seq").first()
    assert last is not None
    AuditHead.objects.filter(pk=1).update(seq=last.seq, chain=last.chain)


TAMPERINGS = [_edit_field, _delete_row, _insert_row, _reorder, _truncate, _unchained, _rewind_head]


@pytest.mark.django_db
def test_untouched_log_verifies(world: World) -> None:
    _events(world, ROWS)
    result = verify()
    assert result.ok, result.problems
    assert result.checked == AuditEvent._base_manager.count()
    assert result.checked >= ROWS


@pytest.mark.django_db
def test_a_thousand_random_tamperings_are_all_detected(world: World) -> None:
    _events(world, ROWS)
    rng = random.Random(20261126)
    detected = {tampering.__name__: 0 for tampering in TAMPERINGS}
    trials = 1000
    for _trial in range(trials):
        tampering = rng.choice(TAMPERINGS)
        with transaction.atomic():
            with _triggers_off():
                tampering(rng)
            result = verify()
            transaction.set_rollback(True)
        assert not result.ok, f"{tampering.__name__} was not detected"
        detected[tampering.__name__] += 1
    assert sum(detected.values()) == trials
    assert all(count > 0 for count in detected.values()), detected
    assert verify().ok


@pytest.mark.django_db
def test_database_refuses_update_and_delete_of_events(world: World) -> None:
    _events(world, 2)
    for statement in (
        f"UPDATE {TABLE} SET action = 'user.login'",
        f"DELETE FROM {TABLE}",
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            _sql(statement)
    assert verify().ok


@pytest.mark.django_db
def test_deleting_the_actor_keeps_the_event_and_the_chain(world: World) -> None:
    record(Action.USER_CREATED, actor=world.alice, target=world.bob)
    event = AuditEvent._base_manager.order_by("-seq").first()
    assert event is not None
    assert event.actor_id == world.alice.pk
    with tenancy.crossing("test deletes a user"):
        type(world.alice)._base_manager.filter(pk=world.alice.pk).delete()
    event.refresh_from_db()
    assert event.actor_id is None
    assert event.actor_label.startswith("Alice <alice@example.com>")
    assert verify().ok


@pytest.mark.django_db
def test_model_refuses_to_update_a_saved_event(world: World) -> None:
    event = record(Action.USER_LOGIN, actor=world.alice)
    event.action = "user.logout"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()


@pytest.mark.django_db
def test_record_masks_secret_sounding_fields(world: World) -> None:
    event = record(
        Action.USER_PASSWORD_SET,
        actor=world.alice,
        data={"password": "hunter2hunter2", "nested": {"api_token": "mkms_x"}, "fields": ["a"]},
    )
    assert event.data == {"password": MASK, "nested": {"api_token": MASK}, "fields": ["a"]}
    assert verify().ok


def test_record_rejects_unknown_action() -> None:
    with pytest.raises(ValueError):
        record("user.teleported")


@pytest.mark.django_db
def test_events_are_scoped_to_the_organisation_subtree(world: World) -> None:
    record(Action.USER_LOGIN, actor=world.alice)
    record(Action.USER_LOGIN, actor=world.carol)
    seen_by_carol = set(
        AuditEvent.objects.visible_to(world.carol).values_list("organisation_name", flat=True)
    )
    seen_by_alice = set(
        AuditEvent.objects.visible_to(world.alice).values_list("organisation_name", flat=True)
    )
    assert world.org_a.name not in seen_by_carol
    assert world.org_b.name in seen_by_carol
    assert world.org_b.name not in seen_by_alice
    assert world.org_a.name in seen_by_alice
