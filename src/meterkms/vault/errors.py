"""Exceptions of the vault.

Every message says what went wrong and what to do about it, and never contains key material,
PINs or passwords: messages end up in logs, HTTP error pages and audit rows.

Hierarchy::

    VaultError
    ├── VaultIntegrityError          stored data does not authenticate (never returns bytes)
    │   ├── BlobIntegrityError       a sealed value: tampered, moved or under the wrong key
    │   │   ├── UnknownDataKeyError  the blob names a data key the store does not have
    │   │   └── ScopeMismatchError   the blob's data key belongs to another scope (tenant)
    │   └── WrappedKeyIntegrityError a wrapped data key or check value does not open
    ├── MasterKeyError               the master key cannot be used: refuse to start
    │   ├── WrongMasterKeyError      the configured key does not open the stored check blob
    │   └── UnknownMasterKeyVersionError  data was wrapped by a master key not configured
    ├── ProviderUnavailableError     the HSM/KMS cannot be reached now (retry later, 503)
    ├── DataKeyStoreError            the data-key store broke a promise of its protocol
    └── KeyMaterialError             a device key given as text is malformed or unacceptable
"""

from __future__ import annotations


class VaultError(Exception):
    """Base class of every error raised by the vault."""


class VaultIntegrityError(VaultError):
    """Stored data failed authentication; no bytes of it are returned."""


class BlobIntegrityError(VaultIntegrityError):
    """A sealed value does not open under its record, slot, version and data key."""


class UnknownDataKeyError(BlobIntegrityError):
    """The data key named by a blob (or asked for by id) is not in the data-key store."""


class ScopeMismatchError(BlobIntegrityError):
    """A blob's data key belongs to another scope than the caller expects."""


class WrappedKeyIntegrityError(VaultIntegrityError):
    """A wrapped data key does not open under the master key with its context."""


class MasterKeyError(VaultError):
    """The master key or its provider is missing, malformed, weak or misconfigured."""


class WrongMasterKeyError(MasterKeyError):
    """The configured master key does not open the stored check blob."""


class UnknownMasterKeyVersionError(MasterKeyError):
    """Data was wrapped by a master-key version the provider is not configured with."""


class ProviderUnavailableError(VaultError):
    """The master-key provider (HSM, KMS) cannot be reached or timed out."""


class DataKeyStoreError(VaultError):
    """The data-key store returned something its protocol does not allow."""


class KeyMaterialError(VaultError, ValueError):
    """A key given as text or bytes is malformed (format, length) or unacceptable."""
