"""Key fingerprints: equal keys match, nothing of the key or the secret shows."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkms.vault.errors import KeyMaterialError
from meterkms.vault.keymaterial import KeyFingerprinter, key_fingerprint

SECRET = os.urandom(32)


def test_fingerprint_is_hmac_sha256_over_label_and_key():
    key = os.urandom(16)
    expected = hmac.new(SECRET, b"meterkms-key-fingerprint-v1\x00" + key, hashlib.sha256)
    assert key_fingerprint(key, SECRET) == expected.hexdigest()


@given(st.binary(min_size=8, max_size=32), st.binary(min_size=8, max_size=32))
def test_same_key_same_fingerprint_different_key_different_fingerprint(first, second):
    fingerprinter = KeyFingerprinter(SECRET)
    assert fingerprinter.fingerprint(first) == fingerprinter.fingerprint(first)
    if first != second:
        assert fingerprinter.fingerprint(first) != fingerprinter.fingerprint(second)


def test_fingerprints_depend_on_the_secret():
    key = os.urandom(16)
    assert key_fingerprint(key, SECRET) != key_fingerprint(key, os.urandom(32))


def test_fingerprint_does_not_contain_the_key():
    key = os.urandom(16)
    printed = key_fingerprint(key, SECRET)
    assert len(printed) == 64
    assert key.hex() not in printed


@pytest.mark.parametrize("secret", [b"", b"short", "a text secret of 32 characters!!"])
def test_weak_or_textual_secrets_are_refused(secret: object):
    with pytest.raises(KeyMaterialError, match="at least 16 bytes"):
        KeyFingerprinter(secret)  # type: ignore[arg-type]


def test_repr_hides_the_secret():
    assert SECRET.hex() not in repr(KeyFingerprinter(SECRET))
