"""Prefix bounds replace LIKE so that both databases answer prefixes from the index."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from meterkms.core.fields import prefix_bounds


@given(prefix=st.text(min_size=1, max_size=8), value=st.text(max_size=12))
def test_prefix_bounds_match_exactly_the_strings_with_the_prefix(prefix: str, value: str) -> None:
    bounds = prefix_bounds(prefix)
    assert bounds is not None
    low, high = bounds
    inside = low <= value < high
    assert inside == value.startswith(prefix)


def test_empty_prefix_has_no_bounds() -> None:
    assert prefix_bounds("") is None
