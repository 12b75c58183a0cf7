"""Fixtures for the vault tests: master-key kits for every provider, stores, vaults.

A *kit* makes providers of one kind with three master keys: ``make()`` opens key A;
``make_rotated()`` opens key B with A as a previous key; ``make_other()`` opens an unrelated
key C. The PKCS#11 kit runs on a SoftHSM2 token created for this test session; the AWS kit on
a ``moto_server`` process on loopback. Both are session-scoped (SoftHSM reads its
configuration once per process, in C_Initialize) and skip locally / fail under CI=true when
their tool is missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from meterkms.vault.emulators import (
    MOTO_CREDENTIALS,
    MotoKmsServer,
    create_softhsm_tokens,
    moto_server_path,
    softhsm_available,
)
from meterkms.vault.engine import NonceBudget, Vault
from meterkms.vault.providers import (
    AwsKmsConfig,
    LocalKeyConfig,
    MasterKeyProvider,
    Pkcs11Config,
    open_provider,
)
from meterkms.vault.providers.local import create_key_file
from meterkms.vault.store import InMemoryDataKeyStore
from tests.support.tiers import require

SOFTHSM_PIN = "4711-user"
SOFTHSM_SO_PIN = "0815-so"
SOFTHSM_SUITE_TOKEN = "meterkms-suite"
SOFTHSM_CANARY_TOKEN = "meterkms-canary"
AWS_REGION = "eu-central-1"


def softhsm_canary(hsm: SoftHsm) -> None:
    """Fail the whole PKCS#11 tier unless the token really does AES-GCM with its AAD check."""
    from pkcs11 import Mechanism
    from pkcs11.exceptions import PKCS11Error
    from pkcs11.mechanisms import GCMParams

    from meterkms.vault.providers import pkcs11 as p11

    with open_provider(hsm.config("kek-a")) as provider:
        wrapped = provider.wrap(b"\x42" * 32, {"purpose": "canary"})
        iv, body = wrapped.ciphertext[1:13], wrapped.ciphertext[13:]
        with p11._LOCK:
            key = provider._key(provider.key_version)  # the token object
            try:
                key.decrypt(body, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(iv, b"x"))
            except PKCS11Error:
                pass
            else:
                raise AssertionError("SoftHSM canary: GCM with a wrong AAD did not fail")


def moto_canary(kms: MotoKms) -> None:
    """Fail the whole AWS tier unless moto checks the encryption context on Decrypt."""
    from botocore.exceptions import ClientError

    client = kms.client()
    blob = client.generate_data_key(
        KeyId=kms.key_ids["a"], KeySpec="AES_256", EncryptionContext={"scope": "a"}
    )["CiphertextBlob"]
    try:
        client.decrypt(CiphertextBlob=blob, EncryptionContext={"scope": "b"})
    except ClientError:
        return
    raise AssertionError("moto canary: Decrypt with a wrong encryption context succeeded")


@dataclass
class ProviderKit:
    """Makes providers of one kind over three master keys (A, B with previous A, C)."""

    kind: str
    make: Callable[[], MasterKeyProvider]
    make_rotated: Callable[[], MasterKeyProvider]
    make_other: Callable[[], MasterKeyProvider]
    secrets: list[str] = field(default_factory=list)


@dataclass
class SoftHsm:
    """A SoftHSM2 configuration of this test session."""

    conf: Path
    module: str

    def config(self, key_label: str, **overrides: object) -> Pkcs11Config:
        values: dict[str, object] = {
            "token_label": SOFTHSM_SUITE_TOKEN,
            "pin": SOFTHSM_PIN,
            "key_label": key_label,
            "module": self.module,
        }
        values.update(overrides)
        return Pkcs11Config(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """Tokens ``meterkms-suite`` (keys kek-a/b/c) and ``meterkms-canary`` in a private dir."""
    require(softhsm_available(), "SoftHSM2 (softhsm2-util and libsofthsm2.so)")
    from meterkms.vault.providers.config import DEFAULT_PKCS11_MODULE
    from meterkms.vault.providers.pkcs11 import create_token_key

    directory = tmp_path_factory.mktemp("softhsm")
    conf = create_softhsm_tokens(
        directory,
        [SOFTHSM_SUITE_TOKEN, SOFTHSM_CANARY_TOKEN],
        pin=SOFTHSM_PIN,
        so_pin=SOFTHSM_SO_PIN,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(conf))
        hsm = SoftHsm(conf, DEFAULT_PKCS11_MODULE)
        for label in ("kek-a", "kek-b", "kek-c"):
            create_token_key(hsm.config(label))
        create_token_key(hsm.config("kek-a", token_label=SOFTHSM_CANARY_TOKEN))
        softhsm_canary(hsm)
        yield hsm


@dataclass
class MotoKms:
    """A moto KMS server of this test session and the ids of its keys A, B, C."""

    endpoint_url: str
    key_ids: dict[str, str]

    def config(self, name: str, **overrides: object) -> AwsKmsConfig:
        values: dict[str, object] = {
            "key_id": self.key_ids[name],
            "region": AWS_REGION,
            "endpoint_url": self.endpoint_url,
        }
        values.update(overrides)
        return AwsKmsConfig(**values)  # type: ignore[arg-type]

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("kms", region_name=AWS_REGION, endpoint_url=self.endpoint_url)


@pytest.fixture(scope="session")
def moto_kms() -> Iterator[MotoKms]:
    """``moto_server`` on a free loopback port with three symmetric keys."""
    require(moto_server_path() is not None, "moto_server")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in MOTO_CREDENTIALS.items():
            patch.setenv(name, value)
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        with MotoKmsServer() as server:
            kms = MotoKms(server.endpoint_url, {})
            client = kms.client()
            for name in ("a", "b", "c"):
                kms.key_ids[name] = client.create_key(Description=f"meterkms test {name}")[
                    "KeyMetadata"
                ]["KeyId"]
            moto_canary(kms)
            yield kms


@pytest.fixture(scope="session")
def local_key_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three master key files (A, B, C) written by create_key_file."""
    directory = tmp_path_factory.mktemp("masterkeys")
    files = {name: directory / f"master-{name}.key" for name in "abc"}
    for path in files.values():
        create_key_file(path)
    return files


def _local_kit(files: dict[str, Path]) -> ProviderKit:
    return ProviderKit(
        kind="local",
        make=lambda: open_provider(LocalKeyConfig(key_file=files["a"])),
        make_rotated=lambda: open_provider(
            LocalKeyConfig(key_file=files["b"], previous_key_files=(files["a"],))
        ),
        make_other=lambda: open_provider(LocalKeyConfig(key_file=files["c"])),
        secrets=[files["a"].read_text().strip(), files["b"].read_text().strip()],
    )


def _pkcs11_kit(hsm: SoftHsm) -> ProviderKit:
    return ProviderKit(
        kind="pkcs11",
        make=lambda: open_provider(hsm.config("kek-a")),
        make_rotated=lambda: open_provider(hsm.config("kek-b", previous_key_labels=("kek-a",))),
        make_other=lambda: open_provider(hsm.config("kek-c")),
        secrets=[SOFTHSM_PIN, SOFTHSM_SO_PIN],
    )


def _awskms_kit(kms: MotoKms) -> ProviderKit:
    return ProviderKit(
        kind="awskms",
        make=lambda: open_provider(kms.config("a")),
        make_rotated=lambda: open_provider(kms.config("b", previous_key_ids=(kms.key_ids["a"],))),
        make_other=lambda: open_provider(kms.config("c")),
        secrets=[MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]],
    )


@pytest.fixture(
    params=[
        "local",
        pytest.param("pkcs11", marks=pytest.mark.softhsm),
        pytest.param("awskms", marks=pytest.mark.moto),
    ]
)
def kit(request: pytest.FixtureRequest) -> ProviderKit:
    """The provider kit of each kind in turn (the parity suite runs once per kind)."""
    if request.param == "local":
        return _local_kit(request.getfixturevalue("local_key_files"))
    if request.param == "pkcs11":
        return _pkcs11_kit(request.getfixturevalue("softhsm"))
    return _awskms_kit(request.getfixturevalue("moto_kms"))


@pytest.fixture
def provider(kit: ProviderKit) -> Iterator[MasterKeyProvider]:
    """An open provider on master key A of the current kit."""
    opened = kit.make()
    yield opened
    opened.close()


@pytest.fixture
def local_provider() -> Iterator[MasterKeyProvider]:
    """A local provider on a fresh random master key given directly."""
    opened = open_provider(LocalKeyConfig(key=os.urandom(32).hex()))
    yield opened
    opened.close()


@pytest.fixture
def store() -> InMemoryDataKeyStore:
    """An empty in-memory data-key store."""
    return InMemoryDataKeyStore()


@pytest.fixture
def vault(local_provider: MasterKeyProvider, store: InMemoryDataKeyStore) -> Vault:
    """A vault on the local provider with the default budget."""
    return Vault(local_provider, store)


def small_budget(limit: int, block: int = 4) -> NonceBudget:
    """A nonce budget small enough for a test to exhaust."""
    return NonceBudget(limit=limit, block=block)
