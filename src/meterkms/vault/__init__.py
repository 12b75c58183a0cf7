"""The vault: the only place where key material meets cryptographic primitives.

Key hierarchy::

    master key (KEK)      held by a provider: local file, PKCS#11 token or AWS KMS
      └─ data keys (DEK)  AES-256, random, one active per scope (tenant); stored only wrapped
           └─ blobs       each device key sealed with AES-256-GCM under a DEK, bound to its
                          record id, key slot and key version (see meterkms.vault.blob)

Public API:

* :class:`Vault` (``seal``, ``unseal``, ``seal_batch``, ``unseal_batch``,
  ``rotate_data_key``): the sealing engine; :class:`NonceBudget` its per-DEK limit.
* :func:`open_provider` with :class:`LocalKeyConfig`, :class:`Pkcs11Config`,
  :class:`AwsKmsConfig` or :func:`config_from_env`: the master key.
* :class:`DataKeyStore` (protocol) and :class:`InMemoryDataKeyStore`: where wrapped DEKs live.
* :class:`DataKeyCache`: bounded, expiring cache of unwrapped DEKs (never of device keys).
* :func:`create_check_blob` / :func:`verify_check_blob`: "is this the right master key?".
* :mod:`meterkms.vault.rotation`: re-wrap DEKs, re-seal blobs.
* :mod:`meterkms.vault.keymaterial` and :mod:`meterkms.vault.kcv`: parsing, hygiene,
  generation and fingerprints of device keys; key check values.

Plain Python: the vault imports no other meterkms package and no Django.
"""

from meterkms.vault.cache import DataKeyCache
from meterkms.vault.checkblob import create_check_blob, refresh_check_blob, verify_check_blob
from meterkms.vault.datakeys import DataKeyRecord, DataKeyState
from meterkms.vault.engine import NonceBudget, Vault
from meterkms.vault.errors import (
    BlobIntegrityError,
    DataKeyStoreError,
    KeyMaterialError,
    MasterKeyError,
    ProviderUnavailableError,
    ScopeMismatchError,
    UnknownDataKeyError,
    UnknownMasterKeyVersionError,
    VaultError,
    VaultIntegrityError,
    WrappedKeyIntegrityError,
    WrongMasterKeyError,
)
from meterkms.vault.providers import (
    AwsKmsConfig,
    LocalKeyConfig,
    MasterKeyProvider,
    Pkcs11Config,
    ProviderConfig,
    WrappedKey,
    config_from_env,
    open_provider,
)
from meterkms.vault.store import DataKeyStore, InMemoryDataKeyStore

__all__ = [
    "AwsKmsConfig",
    "BlobIntegrityError",
    "DataKeyCache",
    "DataKeyRecord",
    "DataKeyState",
    "DataKeyStore",
    "DataKeyStoreError",
    "InMemoryDataKeyStore",
    "KeyMaterialError",
    "LocalKeyConfig",
    "MasterKeyError",
    "MasterKeyProvider",
    "NonceBudget",
    "Pkcs11Config",
    "ProviderConfig",
    "ProviderUnavailableError",
    "ScopeMismatchError",
    "UnknownDataKeyError",
    "UnknownMasterKeyVersionError",
    "Vault",
    "VaultError",
    "VaultIntegrityError",
    "WrappedKey",
    "WrappedKeyIntegrityError",
    "WrongMasterKeyError",
    "config_from_env",
    "create_check_blob",
    "open_provider",
    "refresh_check_blob",
    "verify_check_blob",
]
