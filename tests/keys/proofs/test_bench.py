"""The "proofs" benchmark scenario runs, each figure next to its raw ceiling.

A smoke test at a tiny scale (no timing is asserted: benchmarks are not timed tests).
"""

from __future__ import annotations

import pytest

from meterkms.bench import proofs as bench_proofs
from meterkms.bench.registry import SCENARIOS, BenchContext
from meterkms.devices.models import Device, DeviceKey


def test_scenario_is_registered_with_a_database():
    scenario = SCENARIOS["proofs"]
    assert scenario.func is bench_proofs.proofs_batch
    assert scenario.needs_django


@pytest.mark.django_db
def test_catalogue_figures_prove_every_telegram_and_remove_their_devices():
    messages: list[str] = []
    context = BenchContext(db="test", scale=0.002, progress=messages.append)
    figures = bench_proofs.catalogue_figures(context)
    assert [figure.name for figure in figures] == [
        "proof service, 200 telegrams, 1 per meter, 2,000 devices in test",
        "proof service, 200 telegrams, 10 per meter, 2,000 devices in test",
    ]
    for figure in figures:
        assert figure.value > 0
        assert figure.ceiling is not None
        assert figure.ceiling > 0
        assert figure.unit == "telegrams/s"
        assert isinstance(figure.passed, bool)
    assert messages[0] == "catalogue: devices 1-2,000 of 2,000"
    assert not Device._base_manager.filter(serial__startswith="B1000").exists()
    assert not DeviceKey._base_manager.exists()
