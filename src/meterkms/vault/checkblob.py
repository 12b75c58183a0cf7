"""Check blob: proof at start-up that the configured master key is the right one.

On first start the caller creates a check blob and persists it (database row, next to the
data). On every later start :func:`verify_check_blob` must pass before anything is served:
a wrong key file, another HSM key or another KMS key fails with
:class:`~meterkms.vault.errors.WrongMasterKeyError` ("the master key does not open the stored
check blob: wrong key?"), distinct from a provider that is merely unreachable. A restore
refuses a backup whose check blob the configured key does not open.

The check blob holds a random 32-byte value wrapped by the master key (context
``purpose=meterkms-check-blob``) and the SHA-256 digest of that value::

    b"MKCB" ‖ 0x01 ‖ len(version) (2, big-endian) ‖ version (UTF-8) ‖ digest (32) ‖ wrapped

The digest is no secret: it reveals nothing of the master key, and a forged blob can only
make a check fail, never make a wrong key pass.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from meterkms.vault.errors import (
    MasterKeyError,
    UnknownMasterKeyVersionError,
    WrappedKeyIntegrityError,
    WrongMasterKeyError,
)
from meterkms.vault.providers.base import DATA_KEY_BYTES, MasterKeyProvider, WrappedKey

_MAGIC = b"MKCB\x01"
_CONTEXT = {"purpose": "meterkms-check-blob"}
_WRONG_KEY = "the master key does not open the stored check blob: wrong key?"


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(b"meterkms-check-v1\x00" + value).digest()


def create_check_blob(provider: MasterKeyProvider) -> bytes:
    """A new check blob under the provider's current master key, for the caller to persist."""
    value, wrapped = provider.generate_data_key(_CONTEXT)
    version = wrapped.master_key_version.encode()
    return _MAGIC + struct.pack(">H", len(version)) + version + _digest(value) + wrapped.ciphertext


def check_blob_version(blob: bytes) -> str:
    """The master-key version a check blob was made with."""
    return _parse(blob)[0]


def _parse(blob: bytes) -> tuple[str, bytes, bytes]:
    if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + 2:
        raise MasterKeyError("the stored check blob is not a meterkms check blob (damaged?)")
    (length,) = struct.unpack_from(">H", blob, len(_MAGIC))
    start = len(_MAGIC) + 2
    digest_at = start + length
    if len(blob) <= digest_at + 32:
        raise MasterKeyError("the stored check blob is truncated (damaged?)")
    try:
        version = blob[start:digest_at].decode()
    except UnicodeDecodeError:
        raise MasterKeyError("the stored check blob is damaged (version is not text)") from None
    return version, blob[digest_at : digest_at + 32], blob[digest_at + 32 :]


def verify_check_blob(provider: MasterKeyProvider, blob: bytes) -> str:
    """Prove that ``provider`` holds the master key the check blob was made with.

    Returns the master-key version that opened it. Raises :class:`WrongMasterKeyError` when
    the key is not the right one; :class:`~meterkms.vault.errors.ProviderUnavailableError`
    passes through unchanged (the key may be right, the provider is just down).
    """
    version, digest, ciphertext = _parse(blob)
    try:
        value = provider.unwrap(WrappedKey(version, ciphertext), _CONTEXT)
    except UnknownMasterKeyVersionError:
        raise WrongMasterKeyError(
            f"{_WRONG_KEY} It was made with master key {version}; the provider has "
            f"{', '.join(provider.known_versions)}"
        ) from None
    except WrappedKeyIntegrityError:
        raise WrongMasterKeyError(_WRONG_KEY) from None
    if len(value) != DATA_KEY_BYTES or not hmac.compare_digest(_digest(value), digest):
        raise WrongMasterKeyError(_WRONG_KEY)
    return version


def refresh_check_blob(provider: MasterKeyProvider, blob: bytes) -> bytes:
    """Verify ``blob`` and return one under the current master key (the same if it is).

    Run after a master-key rotation so that the old key can later be removed.
    """
    version = verify_check_blob(provider, blob)
    if version == provider.key_version:
        return blob
    return create_check_blob(provider)
