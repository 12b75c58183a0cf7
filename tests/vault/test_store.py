"""The in-memory data-key store: the reference behaviour of the DataKeyStore protocol."""

from __future__ import annotations

import threading
import uuid

import pytest

from meterkms.vault.datakeys import DataKeyRecord, DataKeyState
from meterkms.vault.errors import DataKeyStoreError, UnknownDataKeyError
from meterkms.vault.providers.base import WrappedKey
from meterkms.vault.store import InMemoryDataKeyStore


def record(scope: str = "org:a", version: str = "local:1", **fields: object) -> DataKeyRecord:
    values = {
        "id": uuid.uuid4(),
        "scope": scope,
        "wrapped": WrappedKey(version, b"w" * 61),
        **fields,
    }
    return DataKeyRecord(**values)  # type: ignore[arg-type]


def test_loading_an_unknown_key_is_an_error():
    with pytest.raises(UnknownDataKeyError):
        InMemoryDataKeyStore().load(uuid.uuid4())


def test_first_installed_key_becomes_active():
    store = InMemoryDataKeyStore()
    first = record()
    assert store.install_active(first, replacing=None) == first
    assert store.active("org:a") == first
    assert store.active("org:b") is None


def test_second_install_without_replacing_keeps_the_first():
    store = InMemoryDataKeyStore()
    first, second = record(), record()
    store.install_active(first, replacing=None)
    assert store.install_active(second, replacing=None) == first
    with pytest.raises(UnknownDataKeyError):
        store.load(second.id)


def test_install_replacing_the_active_key_retires_it():
    store = InMemoryDataKeyStore()
    first, second = record(), record()
    store.install_active(first, replacing=None)
    assert store.install_active(second, replacing=first.id) == second
    assert store.load(first.id).state is DataKeyState.RETIRED
    assert store.active("org:a") == second


def test_install_replacing_a_key_that_is_no_longer_active_adopts_the_current_one():
    store = InMemoryDataKeyStore()
    first, second, third = record(), record(), record()
    store.install_active(first, replacing=None)
    store.install_active(second, replacing=first.id)
    assert store.install_active(third, replacing=first.id) == second
    assert store.master_key_versions() == {"local:1": 2}


def test_install_refuses_retired_and_duplicate_records():
    store = InMemoryDataKeyStore()
    with pytest.raises(DataKeyStoreError):
        store.install_active(record(state=DataKeyState.RETIRED), replacing=None)
    first = record()
    store.install_active(first, replacing=None)
    with pytest.raises(DataKeyStoreError):
        store.install_active(first, replacing=first.id)


def test_reservations_stop_at_the_limit_and_at_retirement():
    store = InMemoryDataKeyStore()
    first, second = record(), record()
    store.install_active(first, replacing=None)
    assert store.reserve(first.id, 6, limit=10)
    assert not store.reserve(first.id, 5, limit=10)
    assert store.reserve(first.id, 4, limit=10)
    assert store.load(first.id).encryptions == 10
    store.install_active(second, replacing=first.id)
    assert not store.reserve(first.id, 1, limit=100)
    assert not store.reserve(uuid.uuid4(), 1, limit=100)
    with pytest.raises(DataKeyStoreError):
        store.reserve(second.id, 0, limit=100)


def test_concurrent_reservations_never_pass_the_limit():
    store = InMemoryDataKeyStore()
    dek = record()
    store.install_active(dek, replacing=None)
    granted = []

    def work() -> None:
        granted.append(sum(store.reserve(dek.id, 1, limit=500) for _ in range(100)))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 500
    assert store.load(dek.id).encryptions == 500


def test_listing_by_version_pages_by_id():
    store = InMemoryDataKeyStore()
    made = [record(scope=f"org:{n}") for n in range(7)]
    for dek in made:
        store.install_active(dek, replacing=None)
    store.install_active(record(scope="org:x", version="local:2"), replacing=None)
    pages, after = [], None
    while page := store.list_by_master_key_version("local:1", after=after, limit=3):
        pages.append([dek.id for dek in page])
        after = page[-1].id
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [i for page in pages for i in page] == sorted(dek.id for dek in made)
    assert store.master_key_versions() == {"local:1": 7, "local:2": 1}


def test_save_rewrapped_is_a_compare_and_set_on_the_version():
    store = InMemoryDataKeyStore()
    dek = record()
    store.install_active(dek, replacing=None)
    new = WrappedKey("local:2", b"n" * 61)
    assert not store.save_rewrapped(dek.id, expected_version="local:9", wrapped=new)
    assert store.save_rewrapped(dek.id, expected_version="local:1", wrapped=new)
    assert not store.save_rewrapped(dek.id, expected_version="local:1", wrapped=new)
    assert store.load(dek.id).wrapped == new
    assert not store.save_rewrapped(uuid.uuid4(), expected_version="local:1", wrapped=new)
