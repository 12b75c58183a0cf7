"""The sealing engine: round trips, failure modes, nonce budget, leases, data-key rotation."""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter

import pytest

from meterkms.vault.blob import OVERHEAD_BYTES
from meterkms.vault.datakeys import DataKeyState
from meterkms.vault.engine import NonceBudget, Vault
from meterkms.vault.errors import (
    BlobIntegrityError,
    ScopeMismatchError,
    UnknownDataKeyError,
    VaultError,
)
from meterkms.vault.providers import LocalKeyConfig, open_provider
from meterkms.vault.store import InMemoryDataKeyStore

from .conftest import small_budget

SCOPE = "org:7d4c0a4e-5b0e-4c55-9a43-3f1f3c2e9b10"


def seal(vault: Vault, plaintext: bytes, record: str = "dev-1", **binding: object) -> bytes:
    values = {"scope": SCOPE, "record": record, "slot": "OMS", "version": 1, **binding}
    return vault.seal(plaintext, **values)  # type: ignore[arg-type]


def unseal(vault: Vault, blob: bytes, record: str = "dev-1", **binding: object) -> bytes:
    values = {"scope": SCOPE, "record": record, "slot": "OMS", "version": 1, **binding}
    return vault.unseal(blob, **values)  # type: ignore[arg-type]


class CountingStore(InMemoryDataKeyStore):
    """Counts reservations, and can pretend (once) that a scope has no active DEK."""

    def __init__(self) -> None:
        super().__init__()
        self.reservations = 0
        self.hide_active_once = False

    def reserve(self, dek_id, count, *, limit):  # type: ignore[no-untyped-def]
        self.reservations += 1
        return super().reserve(dek_id, count, limit=limit)

    def active(self, scope):  # type: ignore[no-untyped-def]
        if self.hide_active_once:
            self.hide_active_once = False
            return None
        return super().active(scope)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- round trips -----------------------------------------------------------------------------------


def test_seal_then_unseal_returns_the_key(vault: Vault):
    key = os.urandom(16)
    assert unseal(vault, seal(vault, key)) == key


def test_blob_has_header_nonce_ciphertext_and_tag(vault: Vault, store: InMemoryDataKeyStore):
    blob = seal(vault, os.urandom(16))
    assert len(blob) == 16 + OVERHEAD_BYTES == 61
    assert blob[0] == 1
    assert Vault.data_key_id(blob) == store.active(SCOPE).id


def test_batch_round_trip_keeps_order(vault: Vault):
    items = [(str(uuid.uuid4()), os.urandom(n % 3 * 8 + 16)) for n in range(50)]
    blobs = vault.seal_batch(scope=SCOPE, slot="AppKey", version=3, items=items)
    pairs = [(record, blob) for (record, _), blob in zip(items, blobs, strict=True)]
    opened = vault.unseal_batch(scope=SCOPE, slot="AppKey", version=3, items=pairs)
    assert opened == [plaintext for _, plaintext in items]


def test_batch_and_single_calls_are_interchangeable(vault: Vault):
    key = os.urandom(16)
    (blob,) = vault.seal_batch(scope=SCOPE, slot="OMS", version=1, items=[("dev-1", key)])
    assert unseal(vault, blob) == key
    single = seal(vault, key, record="dev-2")
    assert vault.unseal_batch(scope=SCOPE, slot="OMS", version=1, items=[("dev-2", single)]) == [
        key
    ]


def test_empty_batches_give_empty_lists(vault: Vault):
    assert vault.seal_batch(scope=SCOPE, slot="OMS", version=1, items=[]) == []
    assert vault.unseal_batch(scope=SCOPE, slot="OMS", version=1, items=[]) == []


def test_memoryview_blobs_open_like_bytes(vault: Vault):
    key = os.urandom(16)
    blob = memoryview(seal(vault, key))
    assert unseal(vault, blob) == key  # type: ignore[arg-type]
    assert vault.unseal_batch(scope=SCOPE, slot="OMS", version=1, items=[("dev-1", blob)]) == [key]


def test_sealing_twice_gives_different_blobs(vault: Vault):
    key = os.urandom(16)
    assert seal(vault, key) != seal(vault, key)


# -- what does not open ----------------------------------------------------------------------------


def test_blob_of_another_scope_is_refused_as_scope_mismatch(vault: Vault):
    blob = seal(vault, os.urandom(16), scope="org:other")
    with pytest.raises(ScopeMismatchError):
        unseal(vault, blob)
    assert issubclass(ScopeMismatchError, BlobIntegrityError)


def test_blob_naming_an_unknown_data_key_is_an_integrity_error(vault: Vault):
    blob = bytearray(seal(vault, os.urandom(16)))
    blob[1:17] = uuid.uuid4().bytes
    with pytest.raises(UnknownDataKeyError):
        unseal(vault, bytes(blob))


def test_blob_of_an_unknown_format_version_is_refused(vault: Vault):
    blob = b"\x02" + seal(vault, os.urandom(16))[1:]
    with pytest.raises(BlobIntegrityError, match="format version 2"):
        unseal(vault, blob)


@pytest.mark.parametrize("length", [0, 1, 16, 17, 20, 29, 30, 44, 45, 60])
def test_truncated_blobs_are_integrity_errors(vault: Vault, length: int):
    blob = seal(vault, os.urandom(16))[:length]
    with pytest.raises(BlobIntegrityError):
        unseal(vault, blob)
    with pytest.raises(BlobIntegrityError):
        vault.unseal_batch(scope=SCOPE, slot="OMS", version=1, items=[("dev-1", blob)])


def test_batch_failure_names_the_item_and_returns_nothing(vault: Vault):
    items = [(f"dev-{n}", os.urandom(16)) for n in range(5)]
    blobs = vault.seal_batch(scope=SCOPE, slot="OMS", version=1, items=items)
    pairs = [(record, blob) for (record, _), blob in zip(items, blobs, strict=True)]
    pairs[3] = (pairs[3][0], pairs[2][1])
    with pytest.raises(BlobIntegrityError, match=r"^item 4: ") as caught:
        vault.unseal_batch(scope=SCOPE, slot="OMS", version=1, items=pairs)
    assert caught.value.__cause__ is None


def test_batch_with_a_foreign_scope_blob_names_the_item(vault: Vault):
    good = seal(vault, os.urandom(16))
    foreign = seal(vault, os.urandom(16), scope="org:other")
    with pytest.raises(ScopeMismatchError, match=r"^item 2: "):
        vault.unseal_batch(
            scope=SCOPE, slot="OMS", version=1, items=[("dev-1", good), ("dev-1", foreign)]
        )


@pytest.mark.parametrize(
    "binding",
    [
        {"slot": ""},
        {"slot": "O\x00MS"},
        {"slot": "x" * 65},
        {"version": True},
        {"version": -1},
        {"version": "1"},
        {"version": 2**63},
        {"scope": ""},
        {"scope": "org:\x00"},
        {"scope": "o" * 201},
    ],
)
def test_bad_bindings_are_refused_before_sealing(vault: Vault, binding: dict):
    with pytest.raises(VaultError):
        seal(vault, os.urandom(16), **binding)
    with pytest.raises(VaultError):
        vault.seal_batch(
            **{"scope": SCOPE, "slot": "OMS", "version": 1, **binding}, items=[("r", b"k")]
        )


@pytest.mark.parametrize("plaintext", [b"", "0011", bytearray(16), b"x" * 4097])
def test_bad_plaintexts_are_refused(vault: Vault, plaintext: object):
    with pytest.raises((ValueError, TypeError)):
        seal(vault, plaintext)  # type: ignore[arg-type]


def test_record_id_must_be_text(vault: Vault):
    with pytest.raises(TypeError):
        seal(vault, os.urandom(16), record=17)
    with pytest.raises(TypeError):
        unseal(vault, seal(vault, os.urandom(16)), record=17)


# -- nonce budget ----------------------------------------------------------------------------------


def test_data_key_is_replaced_when_its_budget_is_spent(local_provider):
    store = InMemoryDataKeyStore()
    vault = Vault(local_provider, store, budget=small_budget(limit=10, block=4))
    blobs = [seal(vault, os.urandom(16), record=f"dev-{n}") for n in range(11)]
    per_key = Counter(Vault.data_key_id(blob) for blob in blobs)
    first, second = Vault.data_key_id(blobs[0]), Vault.data_key_id(blobs[-1])
    assert per_key == {first: 10, second: 1}
    assert store.load(first).state is DataKeyState.RETIRED
    assert store.load(first).encryptions == 10
    assert store.active(SCOPE).id == second


def test_counter_forced_to_the_limit_rotates_before_the_next_encryption(local_provider):
    store = InMemoryDataKeyStore()
    budget = NonceBudget(limit=1000, block=1)
    vault = Vault(local_provider, store, budget=budget)
    first = Vault.data_key_id(seal(vault, os.urandom(16)))
    # Another process spends the rest of the budget.
    assert store.reserve(first, 999, limit=budget.limit)
    blob = seal(vault, os.urandom(16), record="dev-2")
    assert Vault.data_key_id(blob) != first
    assert store.load(first).encryptions == 1000
    assert store.load(first).state is DataKeyState.RETIRED


def test_batch_larger_than_the_budget_spans_several_data_keys(local_provider):
    store = InMemoryDataKeyStore()
    vault = Vault(local_provider, store, budget=small_budget(limit=10, block=4))
    items = [(f"dev-{n}", os.urandom(16)) for n in range(25)]
    blobs = vault.seal_batch(scope=SCOPE, slot="OMS", version=1, items=items)
    per_key = Counter(Vault.data_key_id(blob) for blob in blobs)
    assert sorted(per_key.values()) == [5, 10, 10]
    pairs = [(record, blob) for (record, _), blob in zip(items, blobs, strict=True)]
    assert vault.unseal_batch(scope=SCOPE, slot="OMS", version=1, items=pairs) == [
        plaintext for _, plaintext in items
    ]


def test_reservations_are_made_per_block_not_per_seal(local_provider):
    store = CountingStore()
    vault = Vault(local_provider, store, budget=NonceBudget(block=256))
    for n in range(1000):
        seal(vault, os.urandom(16), record=f"dev-{n}")
    assert store.reservations == 4
    assert store.active(SCOPE).encryptions == 1024


def test_two_processes_sharing_a_store_stay_within_the_budget(local_provider):
    store = InMemoryDataKeyStore()
    budget = small_budget(limit=50, block=8)
    first, second = (
        Vault(local_provider, store, budget=budget),
        Vault(local_provider, store, budget=budget),
    )
    blobs = [seal(v, os.urandom(16), record=f"d{n}") for n in range(100) for v in (first, second)]
    per_key = Counter(Vault.data_key_id(blob) for blob in blobs)
    assert max(per_key.values()) <= 50
    for dek_id in per_key:
        assert store.load(dek_id).encryptions <= 50
    assert len([d for d in per_key if store.load(d).state is DataKeyState.ACTIVE]) == 1


def test_concurrent_threads_share_one_budget(local_provider):
    store = InMemoryDataKeyStore()
    vault = Vault(local_provider, store, budget=small_budget(limit=40, block=3))
    blobs: list[bytes] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        for n in range(60):
            blob = seal(vault, os.urandom(16), record=f"w{worker}-{n}")
            with lock:
                blobs.append(blob)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    per_key = Counter(Vault.data_key_id(blob) for blob in blobs)
    assert len(blobs) == 240
    assert max(per_key.values()) <= 40
    assert all(store.load(d).encryptions <= 40 for d in per_key)


def test_expired_lease_picks_up_a_rotation_made_elsewhere(local_provider):
    store = CountingStore()
    clock = FakeClock()
    here = Vault(local_provider, store, budget=NonceBudget(lease_seconds=60), clock=clock)
    elsewhere = Vault(local_provider, store)
    old = Vault.data_key_id(seal(here, os.urandom(16)))
    new = elsewhere.rotate_data_key(SCOPE)
    clock.now += 30
    assert Vault.data_key_id(seal(here, os.urandom(16))) == old  # lease still valid
    clock.now += 31
    assert Vault.data_key_id(seal(here, os.urandom(16))) == new


def test_release_lease_makes_the_next_seal_use_the_stores_active_key(local_provider):
    store = InMemoryDataKeyStore()
    here, elsewhere = Vault(local_provider, store), Vault(local_provider, store)
    seal(here, os.urandom(16))
    new = elsewhere.rotate_data_key(SCOPE)
    here.release_lease(SCOPE)
    assert Vault.data_key_id(seal(here, os.urandom(16))) == new


def test_losing_the_race_to_install_the_first_key_adopts_the_winners(local_provider):
    store = CountingStore()
    winner, loser = Vault(local_provider, store), Vault(local_provider, store)
    winner_key = Vault.data_key_id(seal(winner, os.urandom(16)))
    store.hide_active_once = True  # the loser read "no active key" just before the winner won
    assert Vault.data_key_id(seal(loser, os.urandom(16))) == winner_key
    assert store.master_key_versions() == {local_provider.key_version: 1}


# -- data-key rotation and cache -------------------------------------------------------------------


def test_rotate_data_key_retires_the_old_key_and_seals_under_the_new(vault: Vault, store):
    old = Vault.data_key_id(seal(vault, os.urandom(16)))
    new = vault.rotate_data_key(SCOPE)
    assert new != old
    assert store.load(old).state is DataKeyState.RETIRED
    assert Vault.data_key_id(seal(vault, os.urandom(16))) == new


def test_rotating_a_scope_without_keys_installs_its_first_key(vault: Vault, store):
    new = vault.rotate_data_key("org:fresh")
    assert store.active("org:fresh").id == new
    assert vault.active_data_key_id("org:fresh") == new
    assert vault.active_data_key_id("org:none") is None


class CountingProvider:
    """Wraps a provider and counts unwraps (DEK cache misses)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.unwraps = 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def unwrap(self, wrapped, context):  # type: ignore[no-untyped-def]
        self.unwraps += 1
        return self.inner.unwrap(wrapped, context)


def test_a_batch_unwraps_each_data_key_once_and_the_cache_serves_later_calls(local_provider):
    store = InMemoryDataKeyStore()
    items = [(f"dev-{n}", os.urandom(16)) for n in range(30)]
    sealer = Vault(local_provider, store, budget=small_budget(limit=10))
    pairs = list(
        zip(
            [r for r, _ in items],
            sealer.seal_batch(scope=SCOPE, slot="OMS", version=1, items=items),
            strict=True,
        )
    )
    counting = CountingProvider(local_provider)
    reader = Vault(counting, store)  # type: ignore[arg-type]
    reader.unseal_batch(scope=SCOPE, slot="OMS", version=1, items=pairs)
    assert counting.unwraps == 3
    reader.unseal_batch(scope=SCOPE, slot="OMS", version=1, items=pairs)
    assert counting.unwraps == 3
    reader.cache.clear()
    unseal(reader, pairs[0][1], record=pairs[0][0])
    assert counting.unwraps == 4


def test_a_million_seals_draw_no_duplicate_nonce(local_provider):
    vault = Vault(local_provider, InMemoryDataKeyStore())
    nonces: set[bytes] = set()
    items = [(f"dev-{n}", b"\x00" * 16) for n in range(100_000)]
    for _ in range(10):
        blobs = vault.seal_batch(scope=SCOPE, slot="OMS", version=1, items=items)
        nonces.update(blob[17:29] for blob in blobs)
    assert len(nonces) == 1_000_000


def test_vaults_on_one_store_with_different_master_keys_do_not_share_keys(store):
    with open_provider(LocalKeyConfig(key=os.urandom(32).hex())) as other:
        blob = seal(Vault(other, store), os.urandom(16))
        with (
            open_provider(LocalKeyConfig(key=os.urandom(32).hex())) as third,
            pytest.raises(VaultError),
        ):
            unseal(Vault(third, store), blob)
