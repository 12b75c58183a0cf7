"""The "vault" benchmark scenario runs and reports each figure next to its raw ceiling.

A smoke test at a tiny scale (no timing is asserted: benchmarks are not timed tests).
"""

from __future__ import annotations

import pytest

from meterkms.bench import vault as bench_vault
from meterkms.bench.registry import SCENARIOS, BenchContext


def test_scenario_is_registered_without_django():
    scenario = SCENARIOS["vault"]
    assert scenario.func is bench_vault.run
    assert not scenario.needs_django


def test_seal_figures_compare_batch_and_single_calls_with_raw_gcm():
    messages: list[str] = []
    figures = bench_vault.seal_figures(BenchContext(scale=0.003, progress=messages.append))
    assert [f.name for f in figures] == [
        "vault seal_batch, AES-128 device keys",
        "vault unseal_batch, AES-128 device keys",
        "vault seal, one key per call",
        "vault unseal, one key per call",
    ]
    for figure in figures:
        assert figure.value > 0
        assert figure.ceiling is not None
        assert figure.ceiling > 0
        assert "raw AES-256-GCM" in figure.ceiling_label
    assert [f.goal for f in figures[:2]] == ["≥ 50 % of raw"] * 2
    assert all(isinstance(f.passed, bool) for f in figures[:2])
    assert messages[0] == "vault: 3000 device keys in 2 chunks"


def test_run_collects_the_optional_provider_figures(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(bench_vault, "pkcs11_unwrap_figure", lambda ctx: None)
    monkeypatch.setattr(bench_vault, "awskms_unwrap_figure", lambda ctx: None)
    figures = bench_vault.run(BenchContext(scale=0.001))
    assert figures[-1].name == "local provider: DEK unwrap"
    assert figures[-1].unit == "unwraps/s"
    assert figures[-1].ceiling_label == "raw AES-256-GCM decrypt of 32 B"
