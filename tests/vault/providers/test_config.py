"""Provider configuration from METERKMS_* environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterkms.vault.errors import MasterKeyError
from meterkms.vault.providers.config import (
    DEFAULT_PKCS11_KEY_LABEL,
    DEFAULT_PKCS11_MODULE,
    AwsKmsConfig,
    LocalKeyConfig,
    Pkcs11Config,
    config_from_env,
)


def test_missing_provider_is_refused_listing_the_choices():
    with pytest.raises(MasterKeyError, match="local, pkcs11 or awskms"):
        config_from_env({})


def test_unknown_provider_is_refused():
    with pytest.raises(MasterKeyError, match="'vault'"):
        config_from_env({"METERKMS_MASTER_KEY_PROVIDER": "vault"})


def test_local_provider_from_file_and_previous_files():
    config = config_from_env(
        {
            "METERKMS_MASTER_KEY_PROVIDER": " Local ",
            "METERKMS_MASTER_KEY_FILE": "/etc/meterkms/master.key",
            "METERKMS_MASTER_KEY_PREVIOUS_FILES": "/etc/meterkms/old1.key, /etc/meterkms/old2.key",
            "METERKMS_MASTER_KEY_STRICT_PERMISSIONS": "yes",
        }
    )
    assert config == LocalKeyConfig(
        key_file=Path("/etc/meterkms/master.key"),
        previous_key_files=(Path("/etc/meterkms/old1.key"), Path("/etc/meterkms/old2.key")),
        strict_permissions=True,
    )


def test_local_provider_with_key_given_directly():
    config = config_from_env(
        {"METERKMS_MASTER_KEY_PROVIDER": "local", "METERKMS_MASTER_KEY": "ab" * 32}
    )
    assert isinstance(config, LocalKeyConfig)
    assert config.key == "ab" * 32
    assert config.key_file is None


def test_local_provider_without_any_key_is_refused():
    with pytest.raises(MasterKeyError, match="METERKMS_MASTER_KEY_FILE"):
        config_from_env({"METERKMS_MASTER_KEY_PROVIDER": "local"})


def test_strict_permissions_flag_must_be_a_boolean():
    with pytest.raises(MasterKeyError, match="true or false"):
        config_from_env(
            {
                "METERKMS_MASTER_KEY_PROVIDER": "local",
                "METERKMS_MASTER_KEY": "ab" * 32,
                "METERKMS_MASTER_KEY_STRICT_PERMISSIONS": "maybe",
            }
        )


def test_pkcs11_provider_with_defaults():
    config = config_from_env(
        {
            "METERKMS_MASTER_KEY_PROVIDER": "pkcs11",
            "METERKMS_PKCS11_TOKEN_LABEL": "kms",
            "METERKMS_PKCS11_PIN": " 1234 ",
        }
    )
    assert config == Pkcs11Config(token_label="kms", pin=" 1234 ")
    assert config.module == DEFAULT_PKCS11_MODULE
    assert config.key_label == DEFAULT_PKCS11_KEY_LABEL


def test_pkcs11_provider_with_pin_file_and_previous_labels(tmp_path: Path):
    pin_file = tmp_path / "pin"
    pin_file.write_text("98765\n")
    config = config_from_env(
        {
            "METERKMS_MASTER_KEY_PROVIDER": "pkcs11",
            "METERKMS_PKCS11_MODULE": "/opt/hsm/lib.so",
            "METERKMS_PKCS11_TOKEN_LABEL": "kms",
            "METERKMS_PKCS11_PIN_FILE": str(pin_file),
            "METERKMS_PKCS11_KEY_LABEL": "kek-2",
            "METERKMS_PKCS11_PREVIOUS_KEY_LABELS": "kek-1,kek-0",
        }
    )
    assert isinstance(config, Pkcs11Config)
    assert config.read_pin() == "98765"
    assert (config.module, config.key_label) == ("/opt/hsm/lib.so", "kek-2")
    assert config.previous_key_labels == ("kek-1", "kek-0")


def test_pkcs11_unreadable_pin_file_is_refused(tmp_path: Path):
    config = Pkcs11Config(token_label="kms", pin_file=tmp_path / "missing")
    with pytest.raises(MasterKeyError, match="cannot read PKCS#11 PIN file"):
        config.read_pin()


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"METERKMS_PKCS11_PIN": "1"}, "TOKEN_LABEL"),
        ({"METERKMS_PKCS11_TOKEN_LABEL": "kms"}, "exactly one"),
        (
            {
                "METERKMS_PKCS11_TOKEN_LABEL": "kms",
                "METERKMS_PKCS11_PIN": "1",
                "METERKMS_PKCS11_PIN_FILE": "/x",
            },
            "exactly one",
        ),
        (
            {
                "METERKMS_PKCS11_TOKEN_LABEL": "kms",
                "METERKMS_PKCS11_PIN": "1",
                "METERKMS_PKCS11_KEY_LABEL": "k",
                "METERKMS_PKCS11_PREVIOUS_KEY_LABELS": "k",
            },
            "not previous",
        ),
    ],
)
def test_incomplete_pkcs11_config_is_refused(given: dict, problem: str):
    with pytest.raises(MasterKeyError, match=problem):
        config_from_env({"METERKMS_MASTER_KEY_PROVIDER": "pkcs11", **given})


def test_pkcs11_config_repr_hides_the_pin():
    assert "s3cret-pin" not in repr(Pkcs11Config(token_label="kms", pin="s3cret-pin"))


def test_awskms_provider_from_env():
    config = config_from_env(
        {
            "METERKMS_MASTER_KEY_PROVIDER": "awskms",
            "METERKMS_AWSKMS_KEY_ID": "alias/meterkms",
            "METERKMS_AWSKMS_REGION": "eu-central-1",
            "METERKMS_AWSKMS_ENDPOINT_URL": "https://kms.example.internal",
            "METERKMS_AWSKMS_PREVIOUS_KEY_IDS": "arn:aws:kms:eu-central-1:1:key/old",
            "METERKMS_AWSKMS_TIMEOUT": "2.5",
        }
    )
    assert config == AwsKmsConfig(
        key_id="alias/meterkms",
        region="eu-central-1",
        endpoint_url="https://kms.example.internal",
        previous_key_ids=("arn:aws:kms:eu-central-1:1:key/old",),
        timeout_seconds=2.5,
    )


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({}, "KEY_ID"),
        ({"METERKMS_AWSKMS_KEY_ID": "k", "METERKMS_AWSKMS_TIMEOUT": "soon"}, "seconds"),
        ({"METERKMS_AWSKMS_KEY_ID": "k", "METERKMS_AWSKMS_TIMEOUT": "0"}, "0-120"),
        ({"METERKMS_AWSKMS_KEY_ID": "k", "METERKMS_AWSKMS_TIMEOUT": "nan"}, "0-120"),
    ],
)
def test_bad_awskms_config_is_refused(given: dict, problem: str):
    with pytest.raises(MasterKeyError, match=problem):
        config_from_env({"METERKMS_MASTER_KEY_PROVIDER": "awskms", **given})
