"""Test tiers that need a real outside part (PostgreSQL, SoftHSM2, moto, Chromium).

Outside CI a missing part skips the test with a clear reason; under ``CI=true`` it fails,
so a green CI run always means the tier really ran.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """True when the suite runs under CI (``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(available: bool, what: str) -> None:
    """Skip (locally) or fail (under CI) the current test when ``what`` is not available."""
    if available:
        return
    message = f"{what} is not available"
    if in_ci():
        pytest.fail(f"{message}, and CI=true requires it", pytrace=False)
    pytest.skip(message)
