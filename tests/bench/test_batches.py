"""The batches benchmark runs end to end at a tiny scale and reports both figures."""

from __future__ import annotations

import pytest

from meterkms.batches.models import Batch
from meterkms.bench.batches import batches_benchmark
from meterkms.bench.registry import BenchContext, load_all
from meterkms.devices.models import Device


def test_the_scenario_is_registered_and_needs_django() -> None:
    scenario = load_all()["batches"]
    assert scenario.needs_django
    assert "100,000" in scenario.description


@pytest.mark.django_db
def test_a_small_run_creates_and_claims_a_batch_and_reports_times() -> None:
    context = BenchContext(scale=0.0003)
    count = context.n(100_000)
    figures = batches_benchmark(context)
    assert [figure.name for figure in figures[:2]] == [
        f"create a batch of {count} serials from a file",
        f"claim the batch of {count} devices",
    ]
    for figure in figures[:2]:
        assert figure.unit == "s"
        assert figure.value > 0
        assert figure.ceiling is not None
        assert figure.ceiling > 0
    batch = Batch._base_manager.get()
    assert batch.device_count == count
    statuses = Device._base_manager.filter(batch=batch).values_list("claim_status", flat=True)
    assert set(statuses) == {"CLAIMED"}
