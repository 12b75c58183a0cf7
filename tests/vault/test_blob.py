"""Blob format and binding (security goal 2): a blob opens only where it was sealed.

Swaps between records, slots, versions, scopes, data keys and master-key versions (header
kept or rewritten) must all fail with an integrity error; flipping any single bit of a blob
must make it fail too.
"""

from __future__ import annotations

import itertools
import os
from functools import cache

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.vault.blob import associated_data, binding_tail
from meterkms.vault.engine import Vault
from meterkms.vault.errors import BlobIntegrityError
from meterkms.vault.providers import LocalKeyConfig, open_provider
from meterkms.vault.rotation import rewrap_data_key
from meterkms.vault.store import InMemoryDataKeyStore

SLOTS = ["AppKey", "NwkKey", "OMS"]


@cache
def shared_vault() -> Vault:
    """One vault for the property tests (Hypothesis runs many examples per test)."""
    provider = open_provider(LocalKeyConfig(key=os.urandom(32).hex()))
    return Vault(provider, InMemoryDataKeyStore())


# -- associated data -------------------------------------------------------------------------------

bindings = st.tuples(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.text(
        alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=8,
    ),
    st.integers(min_value=0, max_value=2**63 - 1),
)


@given(bindings, bindings)
def test_associated_data_is_injective(first: tuple, second: tuple):
    header = b"\x01" + bytes(16)
    if first != second:
        assert associated_data(header, *first) != associated_data(header, *second)


def test_associated_data_layout_is_header_hex_slot_version_record():
    header = b"\x01" + bytes(range(16))
    assert (
        associated_data(header, "dev-9", "OMS", 12)
        == (header.hex() + "OMS\x0012\x00dev-9").encode()
    )
    assert binding_tail("AppKey", 0) == "AppKey\x000\x00"


def test_engine_uses_the_documented_associated_data():
    vault = shared_vault()
    plaintext = os.urandom(16)
    blob = vault.seal(plaintext, scope="org:doc", record="dev-1", slot="OMS", version=4)
    dek = vault._data_key(blob[:17], "org:doc")
    aad = associated_data(blob[:17], "dev-1", "OMS", 4)
    assert dek.decrypt(blob[17:29], blob[29:], aad) == plaintext
    with pytest.raises(InvalidTag):
        AESGCM(os.urandom(32)).decrypt(blob[17:29], blob[29:], aad)


# -- swaps -----------------------------------------------------------------------------------------


def _population() -> tuple[Vault, list[tuple[tuple[str, str, str, int], bytes]]]:
    """Blobs over 2 scopes x 2 DEKs each x 3 records x 2 slots x 2 versions (48 blobs)."""
    old_key, new_key = os.urandom(32).hex(), os.urandom(32).hex()
    store = InMemoryDataKeyStore()
    population = []
    with open_provider(LocalKeyConfig(key=old_key)) as old:
        vault = Vault(old, store)
        for scope in ("org:a", "org:b"):
            for generation in range(2):
                if generation:
                    vault.rotate_data_key(scope)
                for record, slot, version in itertools.product(
                    ("dev-1", "dev-2", "dev-10"), ("AppKey", "NwkKey"), (1, 2)
                ):
                    binding = (scope, f"{record}", slot, version)
                    blob = vault.seal(
                        os.urandom(16), scope=scope, record=record, slot=slot, version=version
                    )
                    population.append((binding, blob))
    rotated = open_provider(LocalKeyConfig(key=new_key, previous_keys=(old_key,)))
    # The data keys of org:a move to the new master-key version, those of org:b stay under
    # the old one: swaps between the scopes cross master-key versions too.
    for record in store.list_by_master_key_version(rotated.known_versions[1], after=None, limit=9):
        if record.scope == "org:a":
            rewrap_data_key(store, record.id, target=rotated)
    assert sorted(store.master_key_versions().values()) == [2, 2]
    return Vault(rotated, store), population


def _opens(vault: Vault, blob: bytes, binding: tuple[str, str, str, int]) -> bool:
    scope, record, slot, version = binding
    try:
        vault.unseal(blob, scope=scope, record=record, slot=slot, version=version)
    except BlobIntegrityError:
        return False
    return True


def test_every_blob_opens_only_under_its_own_binding():
    vault, population = _population()
    assert len(population) == 48
    attempts = successes = 0
    for (own, blob), (other, _) in itertools.product(population, repeat=2):
        opened = _opens(vault, blob, other)
        if own == other:
            assert opened
        else:
            attempts += 1
            successes += opened
    assert attempts == 48 * 46  # each binding was sealed twice, under two data keys
    assert successes == 0


def test_blobs_with_rewritten_headers_never_open_elsewhere():
    vault, population = _population()
    attempts = successes = 0
    for (own, blob), (other, other_blob) in itertools.product(population, repeat=2):
        if own == other or blob[:17] == other_blob[:17]:
            continue
        # Header rewritten to name the target row's data key, body kept.
        forged = other_blob[:17] + blob[17:]
        attempts += 1
        successes += _opens(vault, forged, other) or _opens(vault, forged, own)
    assert attempts > 1500
    assert successes == 0


@pytest.mark.parametrize("field", ["record", "slot", "version"])
def test_changing_one_binding_field_fails(field: str):
    vault = shared_vault()
    binding = {"scope": "org:one", "record": "dev-1", "slot": "OMS", "version": 1}
    blob = vault.seal(os.urandom(16), **binding)  # type: ignore[arg-type]
    changed = {**binding, field: {"record": "dev-2", "slot": "AppKey", "version": 2}[field]}
    with pytest.raises(BlobIntegrityError):
        vault.unseal(blob, **changed)  # type: ignore[arg-type]


def test_record_ids_that_differ_only_after_a_nul_do_not_collide():
    vault = shared_vault()
    blob = vault.seal(b"k" * 16, scope="org:one", record="dev\x001", slot="OMS", version=1)
    with pytest.raises(BlobIntegrityError):
        vault.unseal(blob, scope="org:one", record="dev\x002", slot="OMS", version=1)


# -- single-bit flips ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    plaintext=st.binary(min_size=8, max_size=32),
    record=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    slot=st.sampled_from(SLOTS),
    version=st.integers(min_value=0, max_value=1000),
)
def test_flipping_any_single_bit_of_a_blob_never_opens(plaintext, record, slot, version):
    vault = shared_vault()
    binding = {"scope": "org:bits", "record": record, "slot": slot, "version": version}
    blob = vault.seal(plaintext, **binding)
    assert vault.unseal(blob, **binding) == plaintext
    opened = 0
    for position in range(len(blob)):
        for bit in range(8):
            flipped = bytearray(blob)
            flipped[position] ^= 1 << bit
            try:
                vault.unseal(bytes(flipped), **binding)
            except BlobIntegrityError:
                continue
            opened += 1
    assert opened == 0
