"""Benchmark of shipment batches: create a 100,000-serial batch from a file, then claim it.

``batches``: a manufacturer holds 100,000 devices; a serial file (one per line, CRLF, with a
header) becomes a batch through the real service (read, resolve, check, offer, history,
audit, the new-batch email), and the customer claims the whole batch through the real
service (lock, conditional updates, history, audit). Both are timed end to end, next to a
raw ceiling measured in the same run: the same lookups, updates and history rows as plain
set-based SQL without any checks, rolled back afterwards.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from meterkms.bench.registry import BenchContext, Figure, scenario

GOAL_SECONDS = 10.0
CHUNK = 5000


def _organisations() -> tuple[Any, Any, Any, Any]:
    """A manufacturer with an OTC admin and a customer below it with an operator."""
    from meterkms.accounts.models import User
    from meterkms.core import tenancy
    from meterkms.organisations.services import create_organisation

    tag = secrets.token_hex(3)
    with tenancy.crossing("the benchmark sets up its own organisations"):
        maker = create_organisation(name=f"Bench maker {tag}", parent=None)
        customer = create_organisation(name=f"Bench customer {tag}", parent=maker)
    people = []
    for organisation, role in ((maker, "OTC_ADMIN"), (customer, "OPERATOR")):
        user = User(
            email=f"{secrets.token_hex(4)}@bench.example",
            name=f"Bench {role}",
            organisation=organisation,
            role=role,
        )
        user.set_unusable_password()  # the hasher's cost is not part of the figure
        user.save()
        people.append(User._base_manager.select_related("organisation").get(pk=user.pk))
    return maker, customer, people[0], people[1]


def _populate(count: int, owner: Any, prefix: str) -> list[str]:
    """``count`` unclaimed devices of ``owner`` without keys, written in bulk."""
    from django.db import connection, transaction
    from django.utils import timezone

    from meterkms.batches.bulk import db_value
    from meterkms.devices.models import Device, DeviceType

    device_type = DeviceType._base_manager.get(name="TOPAS Lora W8", organisation=None)
    org = db_value(Device, "owner", owner.pk)
    when = db_value(Device, "created_at", timezone.now())
    serials = [f"{prefix}{index:09d}" for index in range(count)]
    columns = (
        "serial, device_type_id, manufacturer_id, owner_id, claim_status, dev_eui, join_eui, "
        "dev_addr, lorawan_version, wmbus_manufacturer, meter_address, module_address, created_at"
    )
    rows = [
        (serial, device_type.pk, org, org, "UNCLAIMED", "", "", "", "", "", "", "", when)
        for serial in serials
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        marks = ", ".join(["%s"] * 13)
        cursor.executemany(f"INSERT INTO devices_device ({columns}) VALUES ({marks})", rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE devices_device")
    return serials


def _raw_ceiling(serials: list[str], owner: Any, recipient: Any) -> float:
    """Seconds for the same work as plain SQL (lookup, offer, history), then rolled back."""
    from django.db import connection, transaction

    from meterkms.batches.bulk import org_value

    org, target = org_value(owner.pk), org_value(recipient.pk)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for first in range(0, len(serials), CHUNK):
            part = serials[first : first + CHUNK]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"SELECT id FROM devices_device WHERE serial IN ({marks})",
                part,
            )
            ids = [row[0] for row in cursor.fetchall()]
            id_marks = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"UPDATE devices_device SET claimable_by_id = %s WHERE id IN ({id_marks}) "
                "AND owner_id = %s",
                [target, *ids, org],
            )
            cursor.execute(
                "INSERT INTO devices_deviceevent "
                "(device_id, created_at, action, organisation_name, actor_label, details) "
                f"SELECT id, CURRENT_TIMESTAMP, 'raw', '', '', '{{}}' FROM devices_device "
                f"WHERE id IN ({id_marks})",
                ids,
            )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def _write_file(path: Path, serials: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("\ufeffserial\r\n")
        out.writelines(f"{serial}\r\n" for serial in serials)


def _timed_runs(
    serials: list[str], admin: Any, customer: Any, operator: Any
) -> tuple[float, float]:
    """Seconds to create the batch from a serial file, and to claim it, through the services."""
    from meterkms.batches.serials import read_serials
    from meterkms.batches.services import claim_batch, create_batch
    from meterkms.core import context, tenancy

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "serials.csv"
        _write_file(path, serials)
        with tenancy.acting_as(admin), context.channel("cli"), path.open("rb") as stream:
            started = time.perf_counter()
            batch = create_batch(
                actor=admin,
                reference=f"BENCH-{secrets.token_hex(3)}",
                recipient=customer,
                serials=read_serials(iter(lambda: stream.read(65536), b""), source=path.name),
            )
            created = time.perf_counter() - started
    with tenancy.acting_as(operator), context.channel("cli"):
        started = time.perf_counter()
        outcome = claim_batch(actor=operator, batch=batch)
        claimed = time.perf_counter() - started
    if batch.device_count != len(serials) or outcome.claimed != len(serials):
        raise RuntimeError("the benchmark batch did not hold or claim every device")
    return created, claimed


@scenario(
    "batches",
    description="create a 100,000-serial batch from a file and claim it (end to end) "
    "vs the same lookups and updates as raw SQL",
    needs_django=True,
)
def batches_benchmark(ctx: BenchContext) -> list[Figure]:
    """Create and claim a batch of ``ctx.n(100,000)`` devices; both next to the raw SQL."""
    count = ctx.n(100_000)
    maker, customer, admin, operator = _organisations()
    ctx.progress(f"batches: {count:,} devices")
    serials = _populate(count, maker, f"B{secrets.token_hex(2).upper()}")
    ctx.progress("batches: raw ceiling")
    raw = _raw_ceiling(serials, maker, customer)
    ctx.progress("batches: create from a file, then claim")
    created, claimed = _timed_runs(serials, admin, customer, operator)
    label = "raw SQL: the same lookups, offer updates and history rows (no checks)"
    goal = f"≤ {GOAL_SECONDS:.0f} s"
    return [
        Figure(
            f"create a batch of {count:,} serials from a file",
            created,
            "s",
            raw,
            label,
            goal,
            created <= GOAL_SECONDS,
        ),
        Figure(
            f"claim the batch of {count:,} devices",
            claimed,
            "s",
            raw,
            label,
            goal,
            claimed <= GOAL_SECONDS,
        ),
        Figure("create rate", count / created, "devices/s"),
        Figure("claim rate", count / claimed, "devices/s"),
    ]
