"""The AWS KMS provider on a moto server: refusals, failure mapping, our own response checks."""

from __future__ import annotations

import socket
import time

import pytest
from botocore.exceptions import ClientError

from meterkms.vault.errors import (
    MasterKeyError,
    ProviderUnavailableError,
    WrappedKeyIntegrityError,
)
from meterkms.vault.providers import open_provider

from ..conftest import MotoKms

pytestmark = pytest.mark.moto

CONTEXT = {"purpose": "test", "scope": "org:alpha"}


def test_version_is_the_key_arn_also_when_opened_by_alias(moto_kms: MotoKms):
    client = moto_kms.client()
    arn = client.describe_key(KeyId=moto_kms.key_ids["a"])["KeyMetadata"]["Arn"]
    alias = f"alias/meterkms-{time.time_ns()}"
    client.create_alias(AliasName=alias, TargetKeyId=moto_kms.key_ids["a"])
    with open_provider(moto_kms.config("a", key_id=alias)) as provider:
        assert provider.key_version == f"awskms:{arn}"


def test_disabled_key_is_refused_at_start(moto_kms: MotoKms):
    client = moto_kms.client()
    key_id = client.create_key()["KeyMetadata"]["KeyId"]
    client.disable_key(KeyId=key_id)
    with pytest.raises(MasterKeyError, match="is in state Disabled"):
        open_provider(moto_kms.config("a", key_id=key_id))


def test_asymmetric_key_is_refused_at_start(moto_kms: MotoKms):
    key_id = moto_kms.client().create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")[
        "KeyMetadata"
    ]["KeyId"]
    with pytest.raises(MasterKeyError, match="has key spec RSA_2048"):
        open_provider(moto_kms.config("a", key_id=key_id))


def test_same_key_as_current_and_previous_is_refused(moto_kms: MotoKms):
    key_id = moto_kms.key_ids["a"]
    with pytest.raises(MasterKeyError, match="configured twice"):
        open_provider(moto_kms.config("a", previous_key_ids=(key_id,)))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_kms_fails_fast_as_unavailable(moto_kms: MotoKms):
    config = moto_kms.config(
        "a",
        endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        timeout_seconds=1.0,
        max_attempts=1,
    )
    started = time.monotonic()
    with pytest.raises(ProviderUnavailableError, match="cannot be reached"):
        open_provider(config)
    assert time.monotonic() - started < 5


def test_missing_credentials_are_a_configuration_error(moto_kms, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(MasterKeyError, match="no AWS credentials"):
        open_provider(moto_kms.config("a"))


def test_answer_for_another_key_is_refused(moto_kms: MotoKms):
    # KMS must answer for the pinned key; our code checks it because emulators need not.
    with open_provider(moto_kms.config("a")) as provider:
        wrapped = provider.wrap(b"\x01" * 32, CONTEXT)
        real_decrypt = provider._client.decrypt

        def decrypt_claiming_another_key(**kwargs):  # type: ignore[no-untyped-def]
            return {**real_decrypt(**kwargs), "KeyId": "arn:aws:kms:eu-central-1:1:key/other"}

        provider._client.decrypt = decrypt_claiming_another_key
        with pytest.raises(MasterKeyError, match="another key"):
            provider.unwrap(wrapped, CONTEXT)


def test_data_key_of_the_wrong_length_is_refused(moto_kms: MotoKms):
    with open_provider(moto_kms.config("a")) as provider:
        real = provider._client.generate_data_key

        def short_key(**kwargs):  # type: ignore[no-untyped-def]
            answer = real(**kwargs)
            return {**answer, "Plaintext": answer["Plaintext"][:16]}

        provider._client.generate_data_key = short_key
        with pytest.raises(MasterKeyError, match="wrong length"):
            provider.generate_data_key(CONTEXT)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ThrottlingException", ProviderUnavailableError),
        ("KMSInternalException", ProviderUnavailableError),
        ("IncorrectKeyException", WrappedKeyIntegrityError),
        ("AccessDeniedException", MasterKeyError),
        ("KMSInvalidStateException", MasterKeyError),
    ],
)
def test_kms_error_codes_map_to_vault_errors(moto_kms: MotoKms, code: str, error: type):
    with open_provider(moto_kms.config("a")) as provider:
        wrapped = provider.wrap(b"\x01" * 32, CONTEXT)

        def failing(**kwargs):  # type: ignore[no-untyped-def]
            raise ClientError({"Error": {"Code": code, "Message": "x"}}, "Decrypt")

        provider._client.decrypt = failing
        with pytest.raises(error) as caught:
            provider.unwrap(wrapped, CONTEXT)
        assert type(caught.value) is error


def test_wrapped_data_key_is_bound_to_the_kms_key_not_only_the_context(moto_kms: MotoKms):
    with (
        open_provider(moto_kms.config("a")) as first,
        open_provider(moto_kms.config("b", previous_key_ids=(moto_kms.key_ids["a"],))) as second,
    ):
        wrapped = first.wrap(b"\x02" * 32, CONTEXT)
        assert second.unwrap(wrapped, CONTEXT) == b"\x02" * 32
