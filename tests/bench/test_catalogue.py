"""The catalogue benchmarks run end to end at a tiny scale (no timing is asserted)."""

from __future__ import annotations

import pytest

from meterkms.batches.models import Batch
from meterkms.bench import catalogue
from meterkms.bench.registry import BenchContext, load_all
from meterkms.devices.models import Device, DeviceKey


def test_both_scenarios_are_registered_and_need_django() -> None:
    scenarios = load_all()
    assert scenarios["import"].needs_django
    assert scenarios["catalogue-list"].needs_django


@pytest.mark.django_db(transaction=True)
def test_a_small_import_run_imports_every_row_and_reports_its_ceiling() -> None:
    context = BenchContext(scale=0.0005)
    figures = catalogue.import_benchmark(context)
    rate, against_schema, peak, _before = figures
    assert rate.unit == "devices/s"
    assert rate.value > 0
    assert rate.ceiling is not None
    assert rate.ceiling > 0
    assert isinstance(rate.passed, bool)
    assert against_schema.value == rate.value
    assert against_schema.ceiling is not None
    assert against_schema.ceiling > 0
    assert peak.unit == "MB"
    assert peak.value > 0
    assert Device._base_manager.filter(serial__startswith="IMP").count() == 500
    assert DeviceKey._base_manager.count() == 500  # the schema ceiling's rows are rolled back
    assert not Device._base_manager.filter(serial__startswith="SCH").exists()


@pytest.mark.django_db
def test_the_list_run_measures_every_filter_at_each_size(monkeypatch) -> None:
    monkeypatch.setattr(catalogue, "list_sizes", lambda ctx, vendor: [300, 700])
    messages: list[str] = []
    figures = catalogue.list_benchmark(BenchContext(scale=0.001, progress=messages.append))
    for size in ("300", "700"):
        mine = [figure for figure in figures if figure.name.startswith(f"{size}:")]
        # The floor, 8 API cases, the web page, the page with long chips and the chip
        # search: p99 and p50 each.
        assert len(mine) == 24
        assert all(figure.value > 0 and figure.unit == "ms" for figure in mine)
    assert Device._base_manager.count() == 700
    assert any("web list page" in message for message in messages)
    assert any("batch chip search" in message for message in messages)
    assert Batch._base_manager.filter(reference__startswith="SHIP-").count() == (
        catalogue.MANY_OPTIONS
    )
