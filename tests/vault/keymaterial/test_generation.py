"""Key generation from the OS CSPRNG, DES parity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkms.vault.algorithms import KEY_LENGTHS, Algorithm
from meterkms.vault.errors import KeyMaterialError
from meterkms.vault.keymaterial import (
    ensure_acceptable,
    generate_key,
    generation,
    odd_parity_errors,
)
from meterkms.vault.keymaterial.generation import set_odd_parity


@pytest.mark.parametrize("algorithm", sorted(Algorithm))
def test_default_length_is_the_longest_allowed(algorithm: Algorithm):
    assert len(generate_key(algorithm)) == max(KEY_LENGTHS[algorithm])


def test_explicit_length_is_honoured_and_checked():
    assert len(generate_key(Algorithm.TDES, 16)) == 16
    with pytest.raises(KeyMaterialError, match="3DES keys are 16 or 24 bytes long, not 8"):
        generate_key(Algorithm.TDES, 8)


@pytest.mark.parametrize("algorithm", [Algorithm.DES, Algorithm.TDES])
def test_des_keys_have_odd_parity_in_every_byte(algorithm: Algorithm):
    for _ in range(100):
        assert odd_parity_errors(generate_key(algorithm)) == []


@pytest.mark.parametrize("algorithm", sorted(Algorithm))
def test_generated_keys_pass_the_hygiene_checks_and_differ(algorithm: Algorithm):
    keys = {generate_key(algorithm) for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        ensure_acceptable(key, algorithm)


def test_a_drawn_weak_key_is_drawn_again(monkeypatch: pytest.MonkeyPatch):
    draws = iter([bytes.fromhex("FEFEFEFEFEFEFEFE"), bytes.fromhex("0E329232EA6D0D74")[::-1]])
    monkeypatch.setattr(generation.os, "urandom", lambda n: next(draws))
    key = generate_key(Algorithm.DES)
    assert key == set_odd_parity(bytes.fromhex("0E329232EA6D0D74")[::-1])


@given(st.binary(min_size=1, max_size=24))
def test_set_odd_parity_changes_only_bit_zero_and_is_idempotent(key: bytes):
    fixed = set_odd_parity(key)
    assert odd_parity_errors(fixed) == []
    assert bytes(b & 0xFE for b in fixed) == bytes(b & 0xFE for b in key)
    assert set_odd_parity(fixed) == fixed
