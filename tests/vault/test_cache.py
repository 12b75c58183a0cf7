"""The DEK cache: bounded size and age under any sequence of calls (security goal 9)."""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.vault.blob import make_header
from meterkms.vault.cache import DataKeyCache
from meterkms.vault.datakeys import DataKey

IDS = [uuid.UUID(int=n) for n in range(12)]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def data_key(dek_id: uuid.UUID) -> DataKey:
    return DataKey(dek_id, "org:test", os.urandom(32))


operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from(IDS)),
        st.tuples(st.just("get"), st.sampled_from(IDS)),
        st.tuples(st.just("wait"), st.floats(min_value=0, max_value=30)),
        st.tuples(st.just("discard"), st.sampled_from(IDS)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    max_entries=st.integers(min_value=0, max_value=6),
    ttl=st.floats(min_value=0, max_value=20),
    ops=operations,
)
def test_size_and_age_bounds_hold_after_every_call(max_entries, ttl, ops):
    clock = FakeClock()
    cache = DataKeyCache(max_entries=max_entries, ttl_seconds=ttl, clock=clock)
    put_at: dict[uuid.UUID, float] = {}
    for op, arg in ops:
        if op == "put":
            cache.put(data_key(arg))
            put_at[arg] = clock.now
            if max_entries and ttl:
                assert cache.get(make_header(arg)) is not None  # just put: must be there
        elif op == "get":
            found = cache.get(make_header(arg))
            if found is not None:
                assert found.id == arg
                assert clock.now - put_at[arg] < ttl
        elif op == "wait":
            clock.now += arg
        else:
            cache.discard(make_header(arg))
            assert cache.get(make_header(arg)) is None
        assert len(cache) <= max_entries
        assert all(0 <= age < ttl for age in cache.ages())


def test_oldest_entry_is_evicted_when_full():
    cache = DataKeyCache(max_entries=2, ttl_seconds=100, clock=FakeClock())
    for dek_id in IDS[:3]:
        cache.put(data_key(dek_id))
    assert cache.get(make_header(IDS[0])) is None
    assert cache.get(make_header(IDS[1])) is not None
    assert cache.get(make_header(IDS[2])) is not None


def test_entry_expires_exactly_at_its_ttl():
    clock = FakeClock()
    cache = DataKeyCache(max_entries=4, ttl_seconds=10, clock=clock)
    cache.put(data_key(IDS[0]))
    clock.now = 9.999
    assert cache.get(make_header(IDS[0])) is not None
    clock.now = 10.0
    assert cache.get(make_header(IDS[0])) is None
    assert len(cache) == 0


def test_only_data_keys_can_be_cached():
    cache = DataKeyCache()
    with pytest.raises(TypeError, match="only unwrapped data keys"):
        cache.put(b"\x00" * 16)  # type: ignore[arg-type]


def test_clear_forgets_everything():
    cache = DataKeyCache(clock=FakeClock())
    cache.put(data_key(IDS[0]))
    cache.clear()
    assert len(cache) == 0


@pytest.mark.parametrize(("size", "ttl"), [(-1, 1.0), (1, -1.0), (1, float("inf"))])
def test_bad_bounds_are_refused(size: int, ttl: float):
    with pytest.raises(ValueError, match="must be"):
        DataKeyCache(max_entries=size, ttl_seconds=ttl)


def test_data_key_repr_shows_no_key_material():
    plaintext = os.urandom(32)
    key = DataKey(IDS[1], "org:test", plaintext)
    assert plaintext.hex() not in repr(key)
    assert repr(key) == f"DataKey(id={IDS[1]}, scope='org:test')"
