"""Benchmark scenario "vault": sealing throughput and data-key unwrap rates.

* Seal and unseal of AES-128 device keys (1,000,000 at scale 1) through the vault's public
  batch API (``Vault.seal_batch`` / ``Vault.unseal_batch``, 2,000 keys per call as an import
  or export would pass them), each next to the raw AES-256-GCM encrypt/decrypt rate of
  ``cryptography`` (one ``AESGCM`` object reused, 16-byte plaintext, associated data of the
  same length) measured in the same run. Raw and vault timings alternate chunk by chunk so
  that noise from other processes hits both alike. Goal: at least 50 % of raw.
* The one-at-a-time API (``Vault.seal``/``Vault.unseal``) on a tenth of the keys, for
  comparison (no goal).
* Data-key unwrap rate per master-key provider next to the raw call of its backend: local
  always; PKCS#11 on a SoftHSM2 token created for the run and AWS KMS on a ``moto_server``
  process when those are installed.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meterkms.bench.registry import BenchContext, Figure, scenario
from meterkms.vault.blob import associated_data
from meterkms.vault.datakeys import data_key_context
from meterkms.vault.emulators import (
    MOTO_CREDENTIALS,
    MotoKmsServer,
    create_softhsm_tokens,
    moto_server_path,
    softhsm_available,
)
from meterkms.vault.engine import Vault
from meterkms.vault.providers import (
    AwsKmsConfig,
    LocalKeyConfig,
    MasterKeyProvider,
    Pkcs11Config,
    open_provider,
)
from meterkms.vault.providers.base import context_aad
from meterkms.vault.providers.config import DEFAULT_PKCS11_MODULE
from meterkms.vault.store import InMemoryDataKeyStore

CHUNK = 2000
SCOPE = "org:5b0f8a52-3c1e-4e8a-9f0e-0d6c1a2b3c4d"
SLOT = "OMS"
GOAL = "≥ 50 % of raw"


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def _device_keys(count: int) -> list[list[tuple[str, bytes]]]:
    """``count`` (record id, AES-128 key) pairs in chunks of CHUNK."""
    pairs = [(str(uuid.uuid4()), os.urandom(16)) for _ in range(count)]
    return [pairs[i : i + CHUNK] for i in range(0, count, CHUNK)]


def _time_seal(
    vault: Vault, raw: AESGCM, aad: bytes, chunks: list[list[tuple[str, bytes]]]
) -> tuple[float, float, list[list[tuple[str, bytes]]]]:
    """Seconds for raw encrypts and for ``seal_batch``, alternating chunk by chunk."""
    nonce = os.urandom(12)
    clock = time.perf_counter
    raw_seconds = vault_seconds = 0.0
    sealed: list[list[tuple[str, bytes]]] = []
    for chunk in chunks:
        plaintexts = [key for _, key in chunk]
        started = clock()
        for plaintext in plaintexts:
            raw.encrypt(nonce, plaintext, aad)
        middle = clock()
        blobs = vault.seal_batch(scope=SCOPE, slot=SLOT, version=1, items=chunk)
        ended = clock()
        raw_seconds += middle - started
        vault_seconds += ended - middle
        sealed.append([(record, blob) for (record, _), blob in zip(chunk, blobs, strict=True)])
    return raw_seconds, vault_seconds, sealed


def _time_unseal(
    vault: Vault, raw: AESGCM, aad: bytes, sealed: list[list[tuple[str, bytes]]]
) -> tuple[float, float]:
    """Seconds for raw decrypts and for ``unseal_batch``, alternating chunk by chunk."""
    nonce = os.urandom(12)
    ciphertext = raw.encrypt(nonce, b"\x00" * 16, aad)
    clock = time.perf_counter
    raw_seconds = vault_seconds = 0.0
    for pairs in sealed:
        started = clock()
        for _ in pairs:
            raw.decrypt(nonce, ciphertext, aad)
        middle = clock()
        vault.unseal_batch(scope=SCOPE, slot=SLOT, version=1, items=pairs)
        ended = clock()
        raw_seconds += middle - started
        vault_seconds += ended - middle
    return raw_seconds, vault_seconds


def seal_figures(ctx: BenchContext) -> list[Figure]:
    """Batch and single seal/unseal through the vault, each next to raw AES-256-GCM."""
    count = ctx.n(1_000_000)
    provider = open_provider(LocalKeyConfig(key=os.urandom(32).hex()))
    vault = Vault(provider, InMemoryDataKeyStore())
    chunks = _device_keys(count)
    ctx.progress(f"vault: {count} device keys in {len(chunks)} chunks")
    # Raw ceiling: the same cipher, key size, plaintext size and associated-data length.
    raw = AESGCM(AESGCM.generate_key(bit_length=256))
    aad = associated_data(b"\x01" + bytes(16), chunks[0][0][0], SLOT, 1)
    raw_seconds, vault_seconds, sealed = _time_seal(vault, raw, aad, chunks)
    raw_encrypt, vault_seal = _rate(count, raw_seconds), _rate(count, vault_seconds)
    ctx.progress("vault: sealed; opening")
    raw_seconds, vault_seconds = _time_unseal(vault, raw, aad, sealed)
    raw_decrypt, vault_unseal = _rate(count, raw_seconds), _rate(count, vault_seconds)
    single_seal, single_unseal = _single_rates(vault, sealed, max(1, count // 10))
    provider.close()
    encrypt = "raw AES-256-GCM encrypt (cryptography, AESGCM reused, 16 B)"
    decrypt = "raw AES-256-GCM decrypt (cryptography, AESGCM reused, 16 B)"
    return [
        _goal_figure("vault seal_batch, AES-128 device keys", vault_seal, raw_encrypt, encrypt),
        _goal_figure("vault unseal_batch, AES-128 device keys", vault_unseal, raw_decrypt, decrypt),
        Figure("vault seal, one key per call", single_seal, "keys/s", raw_encrypt, encrypt),
        Figure("vault unseal, one key per call", single_unseal, "keys/s", raw_decrypt, decrypt),
    ]


def _goal_figure(name: str, value: float, ceiling: float, label: str) -> Figure:
    return Figure(name, value, "keys/s", ceiling, label, GOAL, value >= 0.5 * ceiling)


def _single_rates(
    vault: Vault, sealed: list[list[tuple[str, bytes]]], count: int
) -> tuple[float, float]:
    """Seal and unseal rates of the one-key-per-call API over ``count`` keys."""
    pairs = [pair for chunk in sealed for pair in chunk][:count]
    started = time.perf_counter()
    for record, _ in pairs:
        vault.seal(b"\x00" * 16, scope=SCOPE, record=record, slot=SLOT, version=1)
    middle = time.perf_counter()
    for record, blob in pairs:
        vault.unseal(blob, scope=SCOPE, record=record, slot=SLOT, version=1)
    ended = time.perf_counter()
    return _rate(len(pairs), middle - started), _rate(len(pairs), ended - middle)


def _unwrap_rates(
    provider: MasterKeyProvider, raw_unwrap: Callable[[], object], count: int
) -> tuple[float, float]:
    """Provider unwrap rate and the raw backend call rate, alternating in blocks."""
    context = data_key_context(uuid.uuid4(), SCOPE)
    _, wrapped = provider.generate_data_key(context)
    block = max(1, count // 10)
    provider_seconds = raw_seconds = 0.0
    done = 0
    while done < count:
        size = min(block, count - done)
        started = time.perf_counter()
        for _ in range(size):
            provider.unwrap(wrapped, context)
        middle = time.perf_counter()
        for _ in range(size):
            raw_unwrap()
        raw_seconds += time.perf_counter() - middle
        provider_seconds += middle - started
        done += size
    return _rate(count, provider_seconds), _rate(count, raw_seconds)


def local_unwrap_figure(ctx: BenchContext) -> Figure:
    """DEK unwrap rate of the local provider next to one raw AES-256-GCM decrypt."""
    provider = open_provider(LocalKeyConfig(key=os.urandom(32).hex()))
    raw = AESGCM(os.urandom(32))
    nonce = os.urandom(12)
    aad = context_aad(provider.key_version, data_key_context(uuid.uuid4(), SCOPE))
    sealed = raw.encrypt(nonce, os.urandom(32), aad)
    rate, ceiling = _unwrap_rates(provider, lambda: raw.decrypt(nonce, sealed, aad), ctx.n(50_000))
    provider.close()
    return Figure(
        "local provider: DEK unwrap", rate, "unwraps/s", ceiling, "raw AES-256-GCM decrypt of 32 B"
    )


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pkcs11_unwrap_figure(ctx: BenchContext) -> Figure | None:
    """DEK unwrap rate on a fresh SoftHSM2 token next to a raw python-pkcs11 GCM decrypt."""
    if not softhsm_available():
        ctx.progress("vault: SoftHSM2 not installed, no PKCS#11 figure")
        return None
    import pkcs11
    from pkcs11 import Mechanism
    from pkcs11.mechanisms import GCMParams

    if DEFAULT_PKCS11_MODULE in pkcs11._loaded:
        # SoftHSM reads its token list once per process; a token made now would be invisible.
        ctx.progress("vault: PKCS#11 module already loaded in this process, no PKCS#11 figure")
        return None
    from meterkms.vault.providers import pkcs11 as p11

    with tempfile.TemporaryDirectory(prefix="meterkms-bench-") as directory:
        pin = os.urandom(8).hex()
        conf = create_softhsm_tokens(Path(directory), ["bench"], pin=pin, so_pin=pin)
        with _environment({"SOFTHSM2_CONF": str(conf)}):
            label = "bench"  # the token's label, not a secret
            config = Pkcs11Config(token_label=label, pin=pin, key_label="bench-kek")
            p11.create_token_key(config)
            provider = open_provider(config)
            key = provider._key(provider.key_version)  # type: ignore[attr-defined]
            nonce, aad, data = os.urandom(12), b"a" * 80, os.urandom(32)
            sealed = key.encrypt(
                data, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad)
            )

            def raw() -> object:
                return key.decrypt(
                    sealed, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad)
                )

            rate, ceiling = _unwrap_rates(provider, raw, ctx.n(20_000))
            provider.close()
    label = "raw C_Decrypt CKM_AES_GCM via python-pkcs11 (SoftHSM2)"
    return Figure("pkcs11 provider: DEK unwrap", rate, "unwraps/s", ceiling, label)


def awskms_unwrap_figure(ctx: BenchContext) -> Figure | None:
    """DEK unwrap rate on a moto KMS server next to a raw boto3 Decrypt call."""
    if moto_server_path() is None:
        ctx.progress("vault: moto_server not installed, no AWS KMS figure")
        return None
    isolation = {**MOTO_CREDENTIALS, "AWS_CONFIG_FILE": os.devnull}
    with _environment(isolation), MotoKmsServer() as server:
        import boto3

        client = boto3.client("kms", region_name="eu-central-1", endpoint_url=server.endpoint_url)
        key_id = client.create_key()["KeyMetadata"]["KeyId"]
        provider = open_provider(
            AwsKmsConfig(key_id=key_id, region="eu-central-1", endpoint_url=server.endpoint_url)
        )
        blob = client.encrypt(KeyId=key_id, Plaintext=os.urandom(32))["CiphertextBlob"]
        rate, ceiling = _unwrap_rates(
            provider, lambda: client.decrypt(CiphertextBlob=blob, KeyId=key_id), ctx.n(1_000)
        )
        provider.close()
    label = "raw boto3 KMS Decrypt against the same moto server"
    return Figure("awskms provider: DEK unwrap", rate, "unwraps/s", ceiling, label)


@scenario(
    "vault",
    description=(
        "Seal/unseal of 1,000,000 AES-128 device keys through the vault vs raw AES-256-GCM; "
        "DEK unwrap rate per master-key provider"
    ),
)
def run(ctx: BenchContext) -> list[Figure]:
    """All figures of the scenario."""
    figures = seal_figures(ctx)
    figures.append(local_unwrap_figure(ctx))
    for optional in (pkcs11_unwrap_figure, awskms_unwrap_figure):
        figure = optional(ctx)
        if figure is not None:
            figures.append(figure)
    return figures
