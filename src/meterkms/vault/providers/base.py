"""The master-key provider interface shared by the local, PKCS#11 and AWS KMS providers.

A provider holds the master key (key-encryption key, KEK) and does exactly three things with
it: wrap a data key, unwrap a data key, and generate a fresh wrapped data key. The master key
value never leaves the provider object: it is not an attribute anyone can read, not in
``repr()``, not in log records and not in exception messages.

Every wrap is bound to a *context*: a small mapping of strings (for data keys: purpose, data-key
id and scope). Unwrapping with any other context fails. The local and PKCS#11 providers feed
the context into AES-GCM as associated data (see :func:`context_aad`); AWS KMS gets it as
``EncryptionContext``.

Each provider names its current master key with a stable *version id* (``local:<hex>``,
``pkcs11:<label>/<id>``, ``awskms:<arn>``). Every wrapped key carries the version that wrapped
it, so a provider configured with previous keys can still unwrap data wrapped before a
rotation, and an operator can see which versions are still referenced.
"""

from __future__ import annotations

import os
import struct
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar, Self

from meterkms.vault.errors import MasterKeyError, UnknownMasterKeyVersionError, VaultError

#: Length of a data key in bytes (AES-256).
DATA_KEY_BYTES = 32

#: AWS KMS limits the whole encryption context to 8,192 characters; stay well inside.
_MAX_CONTEXT_CHARS = 2048


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key wrapped by a master key: the version that wrapped it and the ciphertext."""

    master_key_version: str
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"WrappedKey({self.master_key_version!r}, {len(self.ciphertext)} bytes)"


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    """Result of a provider health check: a round trip through the master key."""

    ok: bool
    provider: str
    master_key_version: str
    detail: str
    seconds: float


def validate_context(context: Mapping[str, str]) -> dict[str, str]:
    """Return ``context`` as a plain dict after checking that it is usable as wrap context.

    Keys and values must be non-empty strings without NUL characters (AWS KMS and our own
    encoding both rely on that), and the whole context must stay small.
    """
    if not context:
        raise VaultError("a wrap context must have at least one entry")
    checked: dict[str, str] = {}
    total = 0
    for key, value in context.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise VaultError("wrap context keys and values must be strings")
        if not key or not value or "\x00" in key or "\x00" in value:
            raise VaultError(f"wrap context entry {key!r} must be non-empty and without NUL")
        if not (key + value).isascii():
            try:
                (key + value).encode()
            except UnicodeEncodeError:
                raise VaultError(f"wrap context entry {key!r} is not valid Unicode") from None
        total += len(key) + len(value)
        checked[key] = value
    if total > _MAX_CONTEXT_CHARS:
        raise VaultError(f"wrap context is {total} characters; at most {_MAX_CONTEXT_CHARS}")
    return checked


def context_aad(master_key_version: str, context: Mapping[str, str]) -> bytes:
    """Associated data for a GCM wrap: label, master-key version and the sorted context.

    Layout: ``b"meterkms-wrap-v1"`` then, for the version and each (key, value) pair in key
    order, a 2-byte big-endian length and the UTF-8 bytes. Length prefixes make the encoding
    injective, so two different contexts never produce the same associated data.
    """
    parts = [b"meterkms-wrap-v1"]
    items = [master_key_version, *(s for pair in sorted(context.items()) for s in pair)]
    for item in items:
        encoded = item.encode()
        parts.append(struct.pack(">H", len(encoded)))
        parts.append(encoded)
    return b"".join(parts)


def check_data_key(plaintext: bytes) -> None:
    """Refuse to wrap anything but a 32-byte data key."""
    if not isinstance(plaintext, bytes) or len(plaintext) != DATA_KEY_BYTES:
        size = len(plaintext) if isinstance(plaintext, bytes | bytearray) else "no"
        raise VaultError(f"a data key must be {DATA_KEY_BYTES} bytes; got {size} bytes")


class MasterKeyProvider(ABC):
    """A master key held by some backend, used only to wrap and unwrap data keys.

    Implementations are safe to call from several threads. After :meth:`close` every
    operation raises :class:`~meterkms.vault.errors.MasterKeyError`.
    """

    #: Short name of the backend, as in ``METERKMS_MASTER_KEY_PROVIDER``.
    kind: ClassVar[str]

    @property
    @abstractmethod
    def key_version(self) -> str:
        """Version id of the current master key; new wraps always use it."""

    @property
    @abstractmethod
    def known_versions(self) -> tuple[str, ...]:
        """Every version this provider can unwrap: the current one first, then previous ones."""

    @abstractmethod
    def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> WrappedKey:
        """Wrap a 32-byte data key under the current master key, bound to ``context``."""

    @abstractmethod
    def unwrap(self, wrapped: WrappedKey, context: Mapping[str, str]) -> bytes:
        """Unwrap a data key; any change of ciphertext, version or context fails.

        Raises :class:`~meterkms.vault.errors.WrappedKeyIntegrityError` when the data does not
        authenticate and :class:`~meterkms.vault.errors.UnknownMasterKeyVersionError` when the
        version is not configured.
        """

    def generate_data_key(self, context: Mapping[str, str]) -> tuple[bytes, WrappedKey]:
        """Create a new random data key: return it in clear (for immediate use) and wrapped."""
        plaintext = os.urandom(DATA_KEY_BYTES)
        return plaintext, self.wrap(plaintext, context)

    @abstractmethod
    def health_check(self) -> ProviderHealth:
        """Round-trip a random value through the master key and report how it went."""

    @abstractmethod
    def close(self) -> None:
        """Release sessions and clients; safe to call more than once."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _require_version(self, version: str) -> None:
        """Raise the standard error for a version this provider does not hold."""
        if version not in self.known_versions:
            raise UnknownMasterKeyVersionError(
                f"data was wrapped by master key {version!r}, which this {self.kind} provider "
                f"is not configured with (configured: {', '.join(self.known_versions)}); "
                "add it as a previous key until everything is re-wrapped"
            )


def closed_error(kind: str) -> MasterKeyError:
    """The error every operation raises after :meth:`MasterKeyProvider.close`."""
    return MasterKeyError(f"the {kind} master-key provider is closed")
