"""Canaries: prove that the emulators are really used and really check what we rely on.

Emulators are known to skip checks (moto ignores key policies, B20 of security.md). These
tests show that the PKCS#11 tier talks to a SoftHSM2 token that keeps the key inside and
checks PINs and GCM tags, and that the AWS tier talks to a moto server process that checks
encryption contexts and key ids. The same checks also run once per session inside the
``softhsm`` and ``moto_kms`` fixtures, so the parity suite cannot run on a broken emulator.
"""

from __future__ import annotations

import os

import pytest
from botocore.exceptions import ClientError

from meterkms.vault.errors import MasterKeyError, WrappedKeyIntegrityError
from meterkms.vault.providers import LocalKeyConfig, open_provider
from meterkms.vault.providers.base import WrappedKey

from ..conftest import SOFTHSM_CANARY_TOKEN, MotoKms, SoftHsm, moto_canary, softhsm_canary

# -- SoftHSM2 --------------------------------------------------------------------------------------


@pytest.mark.softhsm
def test_softhsm_canary_gcm_with_wrong_aad_fails_inside_the_token(softhsm: SoftHsm):
    softhsm_canary(softhsm)


@pytest.mark.softhsm
def test_softhsm_canary_wrong_pin_is_refused_by_the_token(softhsm: SoftHsm):
    config = softhsm.config("kek-a", token_label=SOFTHSM_CANARY_TOKEN, pin="0000-wrong")
    with pytest.raises(MasterKeyError, match="PIN is incorrect"):
        open_provider(config)


@pytest.mark.softhsm
def test_softhsm_canary_key_value_cannot_be_read_from_the_token(softhsm: SoftHsm):
    import pkcs11
    from pkcs11 import Attribute
    from pkcs11.exceptions import AttributeSensitive

    from meterkms.vault.providers import pkcs11 as p11

    with open_provider(softhsm.config("kek-a")) as provider, p11._LOCK:
        token = pkcs11.lib(softhsm.module).get_token(token_label="meterkms-suite")
        # The provider's login covers every session of this process, so a session opened
        # without a PIN sees the private key object.
        session = token.open()
        try:
            key = session.get_key(label="kek-a")
            assert key[Attribute.EXTRACTABLE] is False
            assert key[Attribute.SENSITIVE] is True
            with pytest.raises(AttributeSensitive):
                key[Attribute.VALUE]
        finally:
            session.close()
        assert provider.key_version.startswith("pkcs11:kek-a/")


@pytest.mark.softhsm
def test_softhsm_canary_token_files_exist_in_the_private_directory(softhsm: SoftHsm):
    token_files = list((softhsm.conf.parent / "tokens").rglob("*.object"))
    assert len(token_files) >= 4  # kek-a, kek-b, kek-c and the canary token's kek-a
    assert os.environ["SOFTHSM2_CONF"] == str(softhsm.conf)


# -- moto ------------------------------------------------------------------------------------------


@pytest.mark.moto
def test_moto_canary_wrong_encryption_context_fails_on_the_server(moto_kms: MotoKms):
    moto_canary(moto_kms)


@pytest.mark.moto
def test_moto_canary_decrypt_pinned_to_another_key_is_denied(moto_kms: MotoKms):
    client = moto_kms.client()
    blob = client.encrypt(KeyId=moto_kms.key_ids["a"], Plaintext=b"x" * 32)["CiphertextBlob"]
    with pytest.raises(ClientError):
        client.decrypt(CiphertextBlob=blob, KeyId=moto_kms.key_ids["b"])


@pytest.mark.moto
def test_moto_canary_provider_uses_keys_of_the_server_process(moto_kms: MotoKms):
    new_key = moto_kms.client().create_key(Description="canary")["KeyMetadata"]
    with open_provider(moto_kms.config("a", key_id=new_key["KeyId"])) as provider:
        assert provider.key_version == f"awskms:{new_key['Arn']}"
    with pytest.raises(MasterKeyError):
        open_provider(moto_kms.config("a", key_id="9e3b6c2a-0000-4000-8000-000000000000"))


@pytest.mark.moto
def test_moto_canary_provider_wrapping_fails_with_wrong_context(moto_kms: MotoKms):
    with open_provider(moto_kms.config("a")) as provider:
        wrapped = provider.wrap(b"\x17" * 32, {"scope": "org:a"})
        with pytest.raises(WrappedKeyIntegrityError):
            provider.unwrap(wrapped, {"scope": "org:b"})


# -- local -----------------------------------------------------------------------------------------


def test_local_canary_one_bit_of_the_key_changes_version_and_unwrap():
    key = bytearray(os.urandom(32))
    with open_provider(LocalKeyConfig(key=key.hex())) as provider:
        wrapped = provider.wrap(b"\x01" * 32, {"scope": "org:a"})
        version = provider.key_version
    key[5] ^= 0x10
    with open_provider(LocalKeyConfig(key=key.hex())) as changed:
        assert changed.key_version != version
        with pytest.raises(WrappedKeyIntegrityError):
            changed.unwrap(WrappedKey(changed.key_version, wrapped.ciphertext), {"scope": "org:a"})
