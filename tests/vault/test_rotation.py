"""Rotation helpers: re-sealing batches under a new data key, re-wrap failure handling."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from meterkms.vault.engine import Vault
from meterkms.vault.errors import BlobIntegrityError, WrappedKeyIntegrityError
from meterkms.vault.providers import LocalKeyConfig, open_provider
from meterkms.vault.providers.base import WrappedKey
from meterkms.vault.rotation import reseal_blobs, rewrap_data_key, rewrap_data_keys
from meterkms.vault.store import InMemoryDataKeyStore

SCOPE = "org:rot"


def sealed_rows(vault: Vault, count: int = 6) -> list[tuple[str, bytes, bytes]]:
    items = [(f"dev-{n}", os.urandom(16)) for n in range(count)]
    blobs = vault.seal_batch(scope=SCOPE, slot="OMS", version=2, items=items)
    return [(record, key, blob) for (record, key), blob in zip(items, blobs, strict=True)]


def reseal(vault: Vault, pairs: list[tuple[str, bytes]]) -> list[bytes]:
    return reseal_blobs(vault, scope=SCOPE, slot="OMS", version=2, items=pairs)


def test_reseal_moves_blobs_to_the_new_data_key_keeping_their_keys(vault: Vault):
    rows = sealed_rows(vault)
    new = vault.rotate_data_key(SCOPE)
    moved = reseal(vault, [(record, blob) for record, _, blob in rows])
    assert {Vault.data_key_id(blob) for blob in moved} == {new}
    opened = vault.unseal_batch(
        scope=SCOPE,
        slot="OMS",
        version=2,
        items=[(r, b) for (r, _, _), b in zip(rows, moved, strict=True)],
    )
    assert opened == [key for _, key, _ in rows]


def test_reseal_leaves_current_blobs_untouched_and_is_idempotent(vault: Vault):
    old_rows = sealed_rows(vault, 3)
    vault.rotate_data_key(SCOPE)
    new_rows = sealed_rows(vault, 3)
    mixed = [(r, b) for r, _, b in old_rows] + [(r, b) for r, _, b in new_rows]
    once = reseal(vault, mixed)
    assert once[3:] == [b for _, _, b in new_rows]
    assert once[:3] != [b for _, _, b in old_rows]
    assert reseal(vault, [(r, b) for (r, _), b in zip(mixed, once, strict=True)]) == once


def test_reseal_picks_up_a_rotation_made_by_another_process(local_provider, store):
    here, elsewhere = Vault(local_provider, store), Vault(local_provider, store)
    rows = sealed_rows(here)
    new = elsewhere.rotate_data_key(SCOPE)
    moved = reseal(here, [(r, b) for r, _, b in rows])
    assert {Vault.data_key_id(blob) for blob in moved} == {new}


def test_reseal_of_a_tampered_blob_fails_and_returns_nothing(vault: Vault):
    rows = sealed_rows(vault)
    vault.rotate_data_key(SCOPE)
    pairs = [(r, b) for r, _, b in rows]
    pairs[2] = (pairs[2][0], pairs[2][1][:-1] + bytes([pairs[2][1][-1] ^ 1]))
    with pytest.raises(BlobIntegrityError, match="item 3"):
        reseal(vault, pairs)


def test_rewrap_lists_a_damaged_data_key_and_moves_the_others(local_provider, store):
    vault = Vault(local_provider, store)
    for scope in ("org:1", "org:2", "org:3"):
        vault.seal(b"k" * 16, scope=scope, record="r", slot="OMS", version=1)
    damaged = store.active("org:2")
    store.replace_record(
        replace(damaged, wrapped=WrappedKey(damaged.master_key_version, b"x" * 61))
    )
    new_key = os.urandom(32).hex()
    old_key_provider = local_provider
    with open_provider(LocalKeyConfig(key=new_key)) as target:
        report = rewrap_data_keys(store, target=target, sources=[old_key_provider])
    assert report.rewrapped == 2
    assert list(report.failed) == [damaged.id]
    assert "does not open" in report.failed[damaged.id]
    assert not report.complete


def test_rewrap_of_a_current_key_changes_nothing(local_provider, store):
    vault = Vault(local_provider, store)
    vault.seal(b"k" * 16, scope=SCOPE, record="r", slot="OMS", version=1)
    dek = store.active(SCOPE)
    assert not rewrap_data_key(store, dek.id, target=local_provider)
    assert store.load(dek.id) == dek


class BrokenWrapper:
    """A target provider whose wrapping does not round-trip (a faulty HSM)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.key_version = inner.key_version
        self.known_versions = inner.known_versions

    def wrap(self, plaintext, context):  # type: ignore[no-untyped-def]
        return self.inner.wrap(bytes(32), context)

    def unwrap(self, wrapped, context):  # type: ignore[no-untyped-def]
        return self.inner.unwrap(wrapped, context)


def test_rewrap_verifies_before_overwriting(local_provider, store):
    Vault(local_provider, store).seal(b"k" * 16, scope=SCOPE, record="r", slot="OMS", version=1)
    dek = store.active(SCOPE)
    with open_provider(LocalKeyConfig(key=os.urandom(32).hex())) as target:
        broken = BrokenWrapper(target)
        with pytest.raises(WrappedKeyIntegrityError, match="did not verify"):
            rewrap_data_key(store, dek.id, target=broken, sources=[local_provider])  # type: ignore[arg-type]
    assert store.load(dek.id) == dek


def test_reseal_without_a_rotation_returns_the_same_blobs(local_provider):
    store = InMemoryDataKeyStore()
    vault = Vault(local_provider, store)
    rows = sealed_rows(vault, 2)
    assert reseal(vault, [(r, b) for r, _, b in rows]) == [b for _, _, b in rows]
