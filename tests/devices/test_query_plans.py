"""The device list's searches can be served by an index on PostgreSQL (plans, not timings).

Sequential and plain index scans are switched off for the EXPLAIN, so the plan shows
whether an index *can* serve the filter at all; at millions of rows the planner then picks
it by cost.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from meterkms.devices.filters import DeviceFilter
from meterkms.devices.models import Device
from tests.support.catalogue import make_device, shared_type
from tests.support.personas import World

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        # Only bitmap scans left: they need an index whose condition serves the filter
        # (a plain index scan could walk any index in serial order and filter).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    return queryset.order_by().explain()


@pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lookup", "index"),
    [
        ({"serial__gram_contains": "0042"}, "device_serial_grams"),
        ({"serial__gram_contains": "004"}, "device_serial_grams"),
        ({"serial__gram_contains": "99999"}, "device_serial_grams"),
        ({"serial__gte": "ABC", "serial__lt": "ABD"}, "device_serial"),
    ],
)
def test_serial_searches_can_use_an_index(world: World, lookup, index) -> None:
    for number in range(50):
        make_device(world.org_a, f"ABC{number:05d}")
    plan = _plan(Device._base_manager.filter(**lookup))
    assert "Seq Scan on devices_device" not in plan, plan
    assert index in plan, plan


@pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
@pytest.mark.postgres
@pytest.mark.django_db
def test_the_list_filter_emits_the_indexable_contains_shape(world: World) -> None:
    from meterkms.core import tenancy

    with tenancy.acting_as(world.alice):
        queryset = DeviceFilter(
            {"serial_contains": "0042"},
            queryset=Device.objects.visible_to(world.alice),
            actor=world.alice,
        ).qs
        sql = str(queryset.query)
    assert "meterkms_serial_grams" in sql
    assert "strpos" in sql


@pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
@pytest.mark.postgres
@pytest.mark.django_db
def test_a_labels_list_reads_one_range_of_the_link_index_in_serial_order(world: World) -> None:
    from meterkms.core import tenancy
    from tests.support.catalogue import make_label

    devices = [make_device(world.org_a, f"LBL{number:05d}") for number in range(50)]
    label = make_label(world.org_a, "north", *devices)
    with tenancy.acting_as(world.alice):
        links, _id_field = DeviceFilter(
            {"label": str(label.pk)},
            queryset=Device.objects.visible_to(world.alice),
            actor=world.alice,
        ).narrow_source()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        plan = links.values("device_id", "serial").explain()
    assert "device_label_serial" in plan, plan
    assert "Sort" not in plan, plan  # the index gives the serial order
    assert "devices_device " not in plan, plan


@pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
@pytest.mark.postgres
@pytest.mark.django_db
def test_the_imports_catalogue_probes_use_their_indexes(world: World) -> None:
    """Each chunk of an import probes its serials and key fingerprints with one array
    parameter; a collation that differs between column, index and parameter would turn
    either probe into a scan of the whole table (seen: 47 s for 5,000 fingerprints)."""
    from django.test.utils import CaptureQueriesContext

    from meterkms.devices.importing.service import _existing, _shared_keys

    # Enough devices and fresh statistics that the planner weighs an index condition
    # against a filter as it does on a real catalogue.
    Device._base_manager.bulk_create(
        Device(
            serial=f"PRB{number:05d}",
            device_type=shared_type(),
            manufacturer=world.org_a,
            owner=world.org_a,
        )
        for number in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE devices_device")
    with CaptureQueriesContext(connection) as queries:
        _shared_keys(["0123456789abcdef" * 2, "fedcba9876543210" * 2])
        _existing(world.org_a.pk, ["PRB00001", "PRB00002", "NOPE"])
    # What each probe compares: the array of fingerprints, or each serial of the array.
    probed = {
        "devices_devicekey": "fingerprint)::text = ANY",
        "devices_device": "serial)::text = s.serial",
    }
    assert len(queries) == len(probed)
    for query, (table, comparison) in zip(queries, probed.items(), strict=True):
        assert table in query["sql"]
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {query['sql']}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Seq Scan" not in plan, plan
        # The comparison is an index condition, not a filter over other rows.
        probes = [
            line.split(":")[0].strip(" ->") for line in plan.splitlines() if comparison in line
        ]
        assert probes, plan
        assert set(probes) <= {"Index Cond", "Recheck Cond"}, plan


def _rows_read(plan: dict, table: str) -> int:
    """Rows a plan (EXPLAIN ANALYZE, JSON) read from ``table``: returned or filtered out."""
    read = 0
    if plan.get("Relation Name") == table:
        loops = plan.get("Actual Loops", 1)
        read += (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)) * loops
        read += plan.get("Rows Removed by Index Recheck", 0)
    for child in plan.get("Plans", []):
        read += _rows_read(child, table)
    return read


@pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
@pytest.mark.postgres
@pytest.mark.django_db
def test_the_serial_probe_reads_only_the_probed_serials_while_an_import_grows(
    world: World,
) -> None:
    """Inside an import's transaction the planner knows nothing of the rows written so far:
    its statistics say the importing manufacturer has (almost) no devices. A probe that then
    filters that manufacturer's devices by serial, instead of looking each serial up, reads
    every device the import wrote before — quadratic in the file (seen: 220 ms per chunk of
    5,000 at 1,000,000 devices, a third of the import's time)."""
    import json

    from django.test.utils import CaptureQueriesContext

    from meterkms.devices.importing.service import _existing

    device_type = shared_type()
    # Statistics of a catalogue that holds another manufacturer's devices only.
    Device._base_manager.bulk_create(
        Device(
            serial=f"OTH{n:05d}",
            device_type=device_type,
            manufacturer=world.org_b,
            owner=world.org_b,
        )
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE devices_device")
    # The import's own rows so far, not in the statistics.
    Device._base_manager.bulk_create(
        Device(
            serial=f"IMP{n:06d}",
            device_type=device_type,
            manufacturer=world.org_a,
            owner=world.org_a,
        )
        for n in range(20_000)
    )
    probed = [f"NEW{n:06d}" for n in range(500)] + ["IMP000007", "IMP019999"]
    with CaptureQueriesContext(connection) as queries:
        found = _existing(world.org_a.pk, probed)
    assert set(found) == {"IMP000007", "IMP019999"}
    (query,) = queries
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # as the import sets it
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query['sql']}")
        (result,) = cursor.fetchone()
    (plan,) = json.loads(result) if isinstance(result, str) else result
    read = _rows_read(plan["Plan"], "devices_device")
    assert read <= len(probed), json.dumps(plan, indent=1)[:4000]
