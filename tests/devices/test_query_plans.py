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
from tests.support.catalogue import make_device
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
        ({"serial__contains": "0042"}, "device_serial_trgm"),
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
    assert "LIKE %0042%" in sql


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
