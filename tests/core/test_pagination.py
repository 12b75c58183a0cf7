"""Pagination totals: exact for short pages, capped counts, planner estimates for huge sets."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.template import Context, Template

from meterkms.core import pagination
from meterkms.core.pagination import ESTIMATE_FROM, Page, estimated_count, paginate
from meterkms.devices.models import Device
from tests.support.catalogue import make_device, shared_type
from tests.support.personas import World

pytestmark = pytest.mark.django_db
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture
def devices(world: World):
    for number in range(12):
        make_device(world.org_a, f"P{number:03d}")
    return Device._base_manager.filter(owner=world.org_a).order_by("serial")


def test_a_short_first_page_is_its_own_exact_count(devices, monkeypatch):
    monkeypatch.setattr(pagination, "estimated_count", lambda queryset: 10**6)
    page = paginate(devices, limit=50, estimate=True)
    assert (page.total, page.exact, page.estimated) == (12, True, False)


def test_a_full_page_of_a_small_result_is_counted(devices, monkeypatch):
    monkeypatch.setattr(pagination, "estimated_count", lambda queryset: ESTIMATE_FROM - 1)
    page = paginate(devices, limit=5, offset=5, estimate=True)
    assert [device.serial for device in page.items] == ["P005", "P006", "P007", "P008", "P009"]
    assert (page.total, page.exact, page.estimated) == (12, True, False)


def test_a_big_result_shows_the_estimate_without_counting(devices, monkeypatch):
    monkeypatch.setattr(pagination, "estimated_count", lambda queryset: 180_000)
    monkeypatch.setattr(pagination, "capped_count", pytest.fail)
    page = paginate(devices, limit=5, estimate=True)
    assert (page.total, page.exact, page.estimated) == (180_000, False, True)


def test_without_estimates_a_list_counts(devices, monkeypatch):
    monkeypatch.setattr(pagination, "estimated_count", pytest.fail)
    page = paginate(devices, limit=5, cap=10)
    assert (page.total, page.exact, page.estimated) == (10, False, False)


def test_a_short_last_page_is_its_own_exact_count(devices, monkeypatch):
    monkeypatch.setattr(pagination, "estimated_count", lambda queryset: 10**6)
    monkeypatch.setattr(pagination, "capped_count", pytest.fail)
    page = paginate(devices, limit=5, offset=10, estimate=True)
    assert [device.serial for device in page.items] == ["P010", "P011"]
    assert (page.total, page.exact, page.estimated) == (12, True, False)


def test_an_estimate_below_what_the_pages_prove_is_not_shown(devices, monkeypatch):
    monkeypatch.setattr(pagination, "estimated_count", lambda queryset: 3)
    page = paginate(devices, limit=5, offset=5, estimate=True, cap=1)
    assert (page.total, page.exact, page.estimated) == (1, False, False)


def test_the_api_says_when_its_count_is_an_estimate(world: World, devices, client_for, monkeypatch):
    monkeypatch.setattr(pagination, "estimated_count", lambda queryset: 180_000)
    answer = client_for(world.alice).get("/api/v1/devices", {"limit": 5}).json()
    assert len(answer["items"]) == 5
    assert (answer["count"], answer["count_exact"], answer["count_estimated"]) == (
        180_000,
        False,
        True,
    )
    page = client_for(world.alice).get("/catalogue/devices/", {"limit": 5}).content.decode()
    assert "180,000" in page.replace("\u202f", ",").replace(".", ",")
    assert "≈" in page


def test_an_empty_queryset_past_the_first_page_is_counted_not_estimated(devices):
    page = paginate(devices.none(), limit=5, offset=10, estimate=True)
    assert (page.items, page.total, page.exact, page.estimated) == ([], 0, True, False)


@pytest.mark.parametrize(
    ("page", "shown"),
    [
        (Page([], 0, 50, 8, exact=True), "8"),
        (Page([], 0, 50, 10_000, exact=False), "10,000+"),
        (Page([], 0, 50, 180_000, exact=False, estimated=True), "≈ 180,000"),
    ],
)
def test_the_total_tag_marks_bounds_and_estimates(page, shown):
    template = Template("{% load humanize_total %}{% total page %}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "USE_THOUSAND_SEPARATOR", True)
        patch.setattr(settings, "NUMBER_GROUPING", 3)
        text = template.render(Context({"page": page}))
    assert text.replace("\u202f", ",").replace(".", ",") == shown


@pytest.mark.skipif(ON_POSTGRES, reason="runs in the SQLite pass of the suite")
def test_sqlite_has_no_estimates(devices):
    assert estimated_count(devices) is None


@pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
@pytest.mark.postgres
def test_postgresql_estimates_from_its_statistics(world: World):
    from django.db import connection

    kind = shared_type()
    Device._base_manager.bulk_create(
        Device(owner=world.org_a, manufacturer=world.org_a, serial=f"E{n:05d}", device_type=kind)
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE devices_device")
    guess = estimated_count(Device._base_manager.filter(serial__startswith="E"))
    assert guess is not None
    assert 2000 <= guess <= 4000
    assert len(str(guess).rstrip("0")) <= 2  # two significant digits


ORDERINGS_TO_CHECK = [
    ("serial",),
    ("-serial",),
    ("device_type__name", "serial"),
    ("-device_type__name", "-serial"),
    ("claim_status", "serial"),
    ("-created_at", "-serial"),
]


@pytest.fixture
def mixed(world: World):
    """Devices with equal serials (two manufacturers), types, statuses: ties to break."""
    from meterkms.devices.models import DeviceType

    other_type = DeviceType._base_manager.create(
        name="AAA first", technology="LORAWAN", organisation=None
    )
    for number in range(23):
        fields = {"claim_status": ("UNCLAIMED", "CLAIMED", "PENDING")[number % 3]}
        if number % 4 == 0:
            fields["device_type"] = other_type
        make_device(world.org_a, f"M{number:03d}", **fields)
        if number < 9:  # the same serial from another manufacturer
            make_device(world.org_a, f"M{number:03d}", manufacturer=world.org_a_child, **fields)
    return Device._base_manager.filter(owner=world.org_a)


@pytest.mark.parametrize("ordering", ORDERINGS_TO_CHECK)
@pytest.mark.parametrize(
    ("limit", "offset"), [(5, 0), (7, 14), (50, 0), (10, 25), (10, 28), (1, 31)]
)
def test_a_narrow_page_matches_the_sorted_rows(mixed, ordering, limit, offset, monkeypatch):
    monkeypatch.setattr(pagination, "estimated_count", lambda queryset: None)  # as on SQLite
    monkeypatch.setattr(pagination, "capped_count", pytest.fail)  # one pass counts and sorts
    queryset = mixed.order_by(*ordering)
    page = paginate(queryset, limit=limit, offset=offset, estimate=True)
    expected = list(queryset.order_by(*ordering, "pk")[offset : offset + limit])
    assert page.items == expected
    assert (page.total, page.exact, page.estimated) == (32, True, False)


def test_a_narrow_page_reads_the_matches_once_and_the_page_by_id(mixed, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(pagination, "estimated_count", lambda queryset: 500)
    queryset = mixed.filter(serial__contains="00").order_by("serial")
    with CaptureQueriesContext(connection) as queries:
        page = paginate(queryset, limit=5, offset=5, estimate=True)
    statements = [query["sql"] for query in queries.captured_queries]
    assert page.total == queryset.count()
    assert page.exact
    narrow = [sql for sql in statements if "OVER ()" in sql]
    assert len(narrow) == 1
    assert "LIMIT 10001" in narrow[0].replace('"', "").upper()
    assert not [sql for sql in statements if "COUNT(*)" in sql.upper() and "OVER" not in sql]
    fetched = [sql for sql in statements if sql is not narrow[0] and "EXPLAIN" not in sql]
    assert len(fetched) == 1
    assert " IN (" in fetched[0]


def test_a_result_expected_to_fit_on_the_page_is_read_as_the_page(mixed, monkeypatch):
    monkeypatch.setattr(pagination, "estimated_count", lambda queryset: 1)
    monkeypatch.setattr(pagination, "narrow_page", pytest.fail)
    page = paginate(mixed.filter(serial="M004").order_by("serial"), limit=10, estimate=True)
    assert (len(page.items), page.total, page.exact) == (2, 2, True)


def test_more_rows_than_the_cap_fall_back_to_a_bounded_count(mixed):
    page = paginate(mixed.order_by("serial"), limit=5, offset=5, estimate=True, cap=20)
    assert (page.total, page.exact, page.estimated) == (20, False, False)
    assert page.items == list(mixed.order_by("serial", "pk")[5:10])


def test_a_narrow_read_past_the_cap_is_not_counted_again(mixed, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(pagination, "estimated_count", lambda queryset: 10)  # wrong: 32 rows
    monkeypatch.setattr(pagination, "capped_count", pytest.fail)
    with CaptureQueriesContext(connection) as queries:
        page = paginate(mixed.order_by("serial", "pk"), limit=5, offset=5, estimate=True, cap=20)
    assert (page.total, page.exact, page.estimated) == (20, False, False)
    assert page.items == list(mixed.order_by("serial", "pk")[5:10])
    # the narrow read (which found more than the cap), then the page in order
    assert len(queries) == 2
    assert "OVER ()" in queries[0]["sql"]


@pytest.mark.parametrize("guess", [21, 39])
def test_a_result_expected_past_the_cap_is_paged_and_counted(mixed, monkeypatch, guess):
    monkeypatch.setattr(pagination, "estimated_count", lambda queryset: guess)
    monkeypatch.setattr(pagination, "narrow_page", pytest.fail)
    page = paginate(mixed.order_by("serial", "pk"), limit=5, offset=5, estimate=True, cap=20)
    assert (page.total, page.exact, page.estimated) == (20, False, False)
    assert page.items == list(mixed.order_by("serial", "pk")[5:10])
    # the planner's guess was too high: the capped count finds the exact total
    claimed = mixed.filter(claim_status="CLAIMED").order_by("-serial", "-pk")
    exact = paginate(claimed, limit=5, estimate=True, cap=20)
    assert (exact.total, exact.exact, exact.estimated) == (claimed.count(), True, False)
    assert exact.items == list(claimed[:5])


def test_a_narrow_page_past_the_end_is_empty_and_counted(mixed):
    page = paginate(mixed.order_by("serial"), limit=10, offset=100, estimate=True)
    assert (page.items, page.total, page.exact) == ([], 32, True)


def test_a_narrow_page_of_nothing(mixed):
    page = paginate(mixed.filter(serial="none").order_by("serial"), limit=10, estimate=True)
    assert (page.items, page.total, page.exact) == ([], 0, True)


def test_narrow_pages_need_orderings_by_field_names(mixed):
    from django.db.models.functions import Lower

    with pytest.raises(ValueError, match="ordering by field names"):
        pagination.narrow_page(mixed.order_by(Lower("serial")), 0, 5)


def test_the_device_list_fetches_a_narrow_page_by_id_within_the_scope(world: World, client_for):
    """The page's rows come by id from the scoped list, not through the filter again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.support.catalogue import make_label

    devices = [make_device(world.org_a, f"L{number:03d}") for number in range(60)]
    make_device(world.org_b, "L999")
    label = make_label(world.org_a, "lot-7", *devices[::2])
    with CaptureQueriesContext(connection) as queries:
        answer = client_for(world.alice).get(
            "/api/v1/devices", {"label": str(label.pk), "limit": 10, "offset": 10}
        )
    body = answer.json()
    assert [item["serial"] for item in body["items"]] == [f"L{n:03d}" for n in range(20, 40, 2)]
    assert (body["count"], body["count_exact"], body["count_estimated"]) == (30, True, False)
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("EXPLAIN")]
    fetch = [sql for sql in statements if '"dev_eui"' in sql]
    assert len(fetch) == 1
    assert "devices_device_labels" not in fetch[0]  # the label's ids are not read again
    assert str(world.org_a.pk).replace("-", "") in fetch[0].replace("-", "")  # still scoped


@pytest.mark.parametrize(
    ("limit", "offset", "cap", "total", "exact"),
    [
        (5, 0, 100, 32, True),
        (5, 30, 100, 32, True),  # the last page: its end is the total
        (10, 10, 20, 20, False),
        (5, 25, 20, 20, False),  # a full page past the cap
        (10, 25, 20, 32, True),
    ],
)
def test_an_ordered_source_gives_the_page_and_its_count_in_two_short_statements(
    mixed, limit, offset, cap, total, exact
):
    """A source read in its own order (a label's links): the page's ids from the range,
    the count from the range alone; no window sorting every match."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ordered = mixed.order_by("serial", "pk")
    with CaptureQueriesContext(connection) as queries:
        page = paginate(
            mixed.order_by("serial"),
            limit=limit,
            offset=offset,
            cap=cap,
            estimate=True,
            narrow=(ordered, "pk"),
        )
    assert page.items == list(ordered[offset : offset + limit])
    assert (page.total, page.exact, page.estimated) == (total, exact, False)
    assert not [q for q in queries.captured_queries if "OVER ()" in q["sql"]]
    assert not [q for q in queries.captured_queries if "EXPLAIN" in q["sql"]]


def test_an_ordered_source_past_its_end_is_empty_and_counted(mixed):
    page = paginate(
        mixed.order_by("serial"),
        limit=10,
        offset=100,
        estimate=True,
        narrow=(mixed.order_by("serial", "pk"), "pk"),
    )
    assert (page.items, page.total, page.exact) == ([], 32, True)
