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
    figures = batches_benchmark(BenchContext(scale=0.0003))
    names = [figure.name for figure in figures]
    assert names[:2] == [
        "create a batch of 30 serials from a file",
        "claim the batch of 30 devices",
    ]
    for figure in figures[:2]:
        assert figure.unit == "s"
        assert figure.value > 0
        assert figure.ceiling and figure.ceiling > 0
    batch = Batch._base_manager.get()
    assert batch.device_count == count
    assert set(Device._base_manager.filter(batch=batch).values_list("claim_status", flat=True)) == {
        "CLAIMED"
    }
