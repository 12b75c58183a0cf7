"""Fixtures shared by the password policy tests."""

import pytest


@pytest.fixture(params=["manual", "nist"])
def profile(request: pytest.FixtureRequest) -> str:
    """Each password profile in turn."""
    return request.param
