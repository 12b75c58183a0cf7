"""Label links carry their device's serial, owner and offer; label lists read them alone."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from meterkms.batches import claims
from meterkms.batches.bulk import org_value
from meterkms.batches.models import Batch
from meterkms.core import pagination, tenancy
from meterkms.devices.filters import DeviceFilter
from meterkms.devices.labels import stale_links, sync_label_links
from meterkms.devices.models import Device, DeviceLabel
from meterkms.devices.services import change_labels
from tests.support.catalogue import make_device, make_label
from tests.support.personas import World

pytestmark = pytest.mark.django_db


def _links(label) -> list[tuple[str, object, object]]:
    return list(
        DeviceLabel._base_manager.filter(label=label)
        .order_by("serial")
        .values_list("serial", "owner_id", "claimable_by_id")
    )


def test_adding_labels_copies_serial_owner_and_offer(world: World) -> None:
    devices = [make_device(world.org_a, f"C{n:02d}") for n in range(3)]
    with tenancy.acting_as(world.alice):
        change_labels(actor=world.alice, devices=devices, add=["north"])
    label = DeviceLabel._base_manager.first().label
    assert _links(label) == [(f"C{n:02d}", world.org_a.pk, None) for n in range(3)]


def test_every_claim_step_carries_the_links_along(world: World) -> None:
    devices = [make_device(world.org_a, f"H{n:02d}") for n in range(4)]
    label = make_label(world.org_a, "north", *devices)
    ids = [device.pk for device in devices]
    batch = Batch._base_manager.create(reference="B-1", creator=world.org_a, recipient=world.org_b)
    a, b = org_value(world.org_a.pk), org_value(world.org_b.pk)
    claims.apply(claims.Step.OFFER, ids[:2], owner=a, recipient=b, batch=batch.pk)
    assert [link[2] for link in _links(label)] == [world.org_b.pk] * 2 + [None] * 2
    claims.apply(claims.Step.CLAIM_OFFER, ids[:1], recipient=b, batch=batch.pk)
    claims.apply(claims.Step.HAND_OVER, ids[2:3], owner=a, receiver=org_value(world.org_a_child.pk))
    assert _links(label) == [
        ("H00", world.org_b.pk, None),
        ("H01", world.org_a.pk, world.org_b.pk),
        ("H02", world.org_a_child.pk, None),
        ("H03", world.org_a.pk, None),
    ]
    assert stale_links() == []


def test_a_write_that_forgets_the_links_is_found_and_repaired(world: World) -> None:
    device = make_device(world.org_a, "S01")
    make_label(world.org_a, "north", device)
    Device._base_manager.filter(pk=device.pk).update(owner=world.org_b)  # behind the links
    assert stale_links() == [DeviceLabel._base_manager.get().pk]
    sync_label_links([device.pk])
    assert stale_links() == []


@pytest.fixture
def labelled(world: World):
    """A's label on scattered devices, some moved to B, some offered to B; B's own label."""
    batch = Batch._base_manager.create(reference="B-2", creator=world.org_a, recipient=world.org_b)
    devices = [make_device(world.org_a, f"L{(n * 37) % 101:03d}") for n in range(40)]
    make_device(world.org_a, "L999")  # not labelled
    north = make_label(world.org_a, "north", *devices)
    a, b = org_value(world.org_a.pk), org_value(world.org_b.pk)
    offered = [device.pk for device in devices[30:35]]
    claims.apply(claims.Step.OFFER, offered, owner=a, recipient=b, batch=batch.pk)
    claims.apply(claims.Step.HAND_OVER, [devices[35].pk], owner=a, receiver=b)
    south = make_label(world.org_b, "south", *devices[28:36])
    return north, south


def _expected(actor, label, ordering: str) -> list[str]:
    with tenancy.acting_as(actor):
        queryset = Device.objects.visible_to(actor).filter(labels=label)
        return list(queryset.order_by(ordering, "pk").values_list("serial", flat=True))


@pytest.mark.parametrize("ordering", ["serial", "-serial"])
@pytest.mark.parametrize(("limit", "offset"), [(50, 0), (7, 0), (7, 14), (10, 30), (5, 38)])
def test_a_label_list_from_the_links_equals_the_device_list(
    world: World, labelled, client_for, ordering, limit, offset
) -> None:
    north, south = labelled
    for user, label in ((world.alice, north), (world.carol, south)):
        expected = _expected(user, label, ordering)
        answer = client_for(user).get(
            "/api/v1/devices",
            {"label": str(label.pk), "ordering": ordering, "limit": limit, "offset": offset},
        )
        body = answer.json()
        assert [item["serial"] for item in body["items"]] == expected[offset : offset + limit]
        assert (body["count"], body["count_exact"]) == (len(expected), True)


def test_the_label_list_reads_the_links_not_the_devices(world: World, labelled, client_for):
    north, _south = labelled
    with CaptureQueriesContext(connection) as queries:
        client_for(world.alice).get("/api/v1/devices", {"label": str(north.pk), "limit": 5})
    # The page's ids and the count, each from the links alone.
    links = [q["sql"] for q in queries.captured_queries if "devices_device_labels" in q["sql"]]
    page = [sql for sql in links if "LIMIT 5" in sql]
    count = [sql for sql in links if "COUNT(*)" in sql.upper()]
    assert len(page) == len(count) == 1
    for sql in (*page, *count):
        assert '"devices_device"' not in sql  # no device is looked up for them
    assert not [q for q in queries.captured_queries if "OVER ()" in q["sql"]]
    assert not [q for q in queries.captured_queries if q["sql"].startswith("EXPLAIN")]


@pytest.mark.parametrize(
    "extra", [{"claim_status": "UNCLAIMED"}, {"serial": "L0"}, {"ordering": "type"}]
)
def test_other_filters_with_the_label_read_the_devices(world, labelled, client_for, extra):
    north, _south = labelled
    params = {"label": str(north.pk), **extra}
    with tenancy.acting_as(world.alice):
        filterset = DeviceFilter(
            params, queryset=Device.objects.visible_to(world.alice), actor=world.alice
        )
        assert filterset.narrow_source() is None
        expected = filterset.qs.count()
    body = client_for(world.alice).get("/api/v1/devices", params).json()
    assert (body["count"], body["count_exact"]) == (expected, True)


def test_a_label_bigger_than_the_cap_pages_from_the_links_and_says_so(world: World, labelled):
    north, _south = labelled
    with tenancy.acting_as(world.alice):
        filterset = DeviceFilter(
            {"label": str(north.pk)},
            queryset=Device.objects.visible_to(world.alice),
            actor=world.alice,
        )
        page = pagination.paginate(
            filterset.qs,
            limit=5,
            offset=10,
            cap=8,
            estimate=True,
            narrow=filterset.narrow_source(),
        )
    expected = _expected(world.alice, north, "serial")
    assert [device.serial for device in page.items] == expected[10:15]
    assert (page.total, page.exact, page.estimated) == (8, False, False)
