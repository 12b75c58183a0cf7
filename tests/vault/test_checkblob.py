"""Check blob format errors (the per-provider behaviour is in the parity suite)."""

from __future__ import annotations

import os

import pytest

from meterkms.vault.checkblob import check_blob_version, create_check_blob, verify_check_blob
from meterkms.vault.errors import MasterKeyError, WrongMasterKeyError
from meterkms.vault.providers import LocalKeyConfig, open_provider


def test_check_blob_names_the_master_key_version(local_provider):
    blob = create_check_blob(local_provider)
    assert blob.startswith(b"MKCB\x01")
    assert check_blob_version(blob) == local_provider.key_version


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"MKCB",
        b"MKCA\x01\x00\x05local",
        b"MKCB\x01\x00\x40local:",
        b"MKCB\x01\x00\x02\xff\xfe" + bytes(64),
    ],
)
def test_malformed_check_blobs_are_refused_as_damaged(local_provider, blob: bytes):
    with pytest.raises(MasterKeyError, match="check blob") as caught:
        verify_check_blob(local_provider, blob)
    assert not isinstance(caught.value, WrongMasterKeyError)


def test_wrong_key_message_is_the_documented_one(local_provider):
    blob = create_check_blob(local_provider)
    with (
        open_provider(LocalKeyConfig(key=os.urandom(32).hex())) as other,
        pytest.raises(WrongMasterKeyError) as caught,
    ):
        verify_check_blob(other, blob)
    assert str(caught.value).startswith(
        "the master key does not open the stored check blob: wrong key?"
    )
