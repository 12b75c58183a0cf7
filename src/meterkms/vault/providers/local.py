"""The ``local`` provider: a 32-byte master key from a key file or given directly.

The key text is 64 hex digits or base64 of 32 bytes; whitespace anywhere is ignored. Loading
refuses, naming the problem and never the key: a missing, unreadable or oversized file, the
wrong length (``holds 15 bytes``), a blank or patterned key, a published key (OpenStack
Barbican's default ``thirty_two_byte_keyblahblahblahh``, FIPS-197 sample keys) and text that
looks typed rather than random. A key file readable by group or others is a warning, or a
refusal with ``strict_permissions``.

Two keys are derived from the master key with HKDF-SHA256, so the master key itself is used
by no algorithm: a wrapping key (AES-256-GCM) and a version id (``local:`` + 16 hex digits),
which names the key without revealing it.

Wrapped data key, format 1: ``0x01 ‖ nonce (12) ‖ AES-256-GCM(DEK) ‖ tag (16)`` = 61 bytes,
with :func:`~meterkms.vault.providers.base.context_aad` as associated data.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import stat
import time
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from meterkms.vault.algorithms import Algorithm
from meterkms.vault.errors import MasterKeyError, WrappedKeyIntegrityError
from meterkms.vault.keymaterial.hygiene import FindingCode, Severity, hygiene_findings
from meterkms.vault.providers.base import (
    MasterKeyProvider,
    ProviderHealth,
    WrappedKey,
    check_data_key,
    closed_error,
    context_aad,
    validate_context,
)
from meterkms.vault.providers.config import LocalKeyConfig

logger = logging.getLogger("meterkms.vault")

MASTER_KEY_BYTES = 32
_MAX_FILE_BYTES = 4096
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_WRAP_FORMAT = 1
_WRAPPED_BYTES = 1 + 12 + 32 + 16


def _derive(master_key: bytes, label: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(master_key)


def master_key_version(master_key: bytes) -> str:
    """The version id of a local master key: ``local:`` and 64 bits of an HKDF output."""
    return "local:" + _derive(master_key, b"meterkms master key version v1", 8).hex()


def decode_master_key(text: str, origin: str) -> bytes:
    """Decode master-key text (hex or base64, whitespace ignored) and check its quality.

    ``origin`` names where the text came from for messages ("master key file /etc/…").
    """
    compact = "".join(text.split())
    if not compact:
        raise MasterKeyError(f"{origin} is empty; it must hold 64 hex digits or base64")
    if set(compact) <= _HEX_DIGITS:
        if len(compact) != 2 * MASTER_KEY_BYTES:
            size = f"{len(compact) // 2} bytes" if len(compact) % 2 == 0 else "an odd count"
            raise MasterKeyError(
                f"{origin} holds {len(compact)} hex digits ({size}); a master key is "
                f"{2 * MASTER_KEY_BYTES} hex digits ({MASTER_KEY_BYTES} bytes)"
            )
        key = bytes.fromhex(compact)
    else:
        try:
            key = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise MasterKeyError(
                f"{origin} is neither {2 * MASTER_KEY_BYTES} hex digits nor base64 "
                f"of {MASTER_KEY_BYTES} bytes"
            ) from None
        if len(key) != MASTER_KEY_BYTES:
            raise MasterKeyError(
                f"{origin} holds a {len(key)}-byte key (base64); a master key is "
                f"{MASTER_KEY_BYTES} bytes"
            )
    check_master_key(key, origin)
    return key


def check_master_key(key: bytes, origin: str) -> None:
    """Refuse blank, patterned, published and text-like master keys."""
    problems = [
        finding.message
        for finding in hygiene_findings(key, Algorithm.AES256)
        # For device keys printable text is only a warning; a 32-byte random master key is
        # printable with probability about 1e-14, so here it means a typed password.
        if finding.severity is Severity.REJECT or finding.code is FindingCode.ASCII_TEXT
    ]
    if problems:
        raise MasterKeyError(f"{origin} is unusable as a master key: {'; '.join(problems)}")


def read_key_file(path: Path, *, strict_permissions: bool, label: str = "master key file") -> str:
    """The text of a key file, after checking that it exists, is small and is private."""
    origin = f"{label} {path}"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise MasterKeyError(f"{origin} does not exist") from None
    except OSError as exc:
        raise MasterKeyError(f"{origin} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise MasterKeyError(f"{origin} is not a regular file")
    if info.st_size > _MAX_FILE_BYTES:
        raise MasterKeyError(f"{origin} is {info.st_size} bytes; a key file is below 100 bytes")
    if info.st_mode & 0o077:
        message = (
            f"{origin} is accessible by group or others (mode {stat.S_IMODE(info.st_mode):04o});"
            " run chmod 600 on it"
        )
        if strict_permissions:
            raise MasterKeyError(message)
        logger.warning(message)
    try:
        return path.read_text(encoding="ascii")
    except PermissionError:
        raise MasterKeyError(f"{origin} cannot be read: permission denied") from None
    except UnicodeDecodeError:
        raise MasterKeyError(f"{origin} is not text (hex or base64 expected)") from None
    except OSError as exc:
        raise MasterKeyError(f"{origin} cannot be read: {exc.strerror}") from None


def create_key_file(path: Path | str) -> str:
    """Write a new random master key to ``path`` (mode 0600); return its version id.

    Refuses to overwrite anything. The key is written to a temporary file in the same
    directory, flushed to disk, then hard-linked into place: ``link()`` fails if the name
    exists, so creation is atomic and never replaces a key file, even under a race.
    """
    target = Path(path)
    if target.exists() or target.is_symlink():
        raise MasterKeyError(f"{target} exists already; refusing to overwrite a master key")
    key = os.urandom(MASTER_KEY_BYTES)
    while True:
        try:
            check_master_key(key, "new key")
            break
        except MasterKeyError:  # pragma: no cover - needs a 1-in-1e14 draw
            key = os.urandom(MASTER_KEY_BYTES)
    temporary = target.parent / f".{target.name}.{secrets.token_hex(8)}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise MasterKeyError(
            f"cannot create a key file in {target.parent}: {exc.strerror}"
        ) from None
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, (key.hex() + "\n").encode("ascii"))
        os.fsync(descriptor)
        os.close(descriptor)
        try:
            os.link(temporary, target)
        except FileExistsError:
            raise MasterKeyError(
                f"{target} exists already; refusing to overwrite a master key"
            ) from None
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return master_key_version(key)


class LocalMasterKeyProvider(MasterKeyProvider):
    """Master key held in process memory, loaded from a file or a configured secret."""

    kind = "local"

    def __init__(self, config: LocalKeyConfig) -> None:
        self._origin = (
            f"file {config.key_file}" if config.key_file is not None else "configured key"
        )
        sources: list[tuple[str, str]] = []
        if config.key_file is not None:
            text = read_key_file(config.key_file, strict_permissions=config.strict_permissions)
            sources.append((text, f"master key file {config.key_file}"))
        else:
            assert config.key is not None
            sources.append((config.key, "METERKMS_MASTER_KEY"))
        for path in config.previous_key_files:
            text = read_key_file(
                path,
                strict_permissions=config.strict_permissions,
                label="previous master key file",
            )
            sources.append((text, f"previous master key file {path}"))
        for number, text in enumerate(config.previous_keys, start=1):
            sources.append((text, f"previous master key {number}"))
        self._keys: dict[str, AESGCM] = {}
        for text, origin in sources:
            master = decode_master_key(text, origin)
            version = master_key_version(master)
            if version in self._keys:
                raise MasterKeyError(f"{origin} is the same key as one configured before it")
            self._keys[version] = AESGCM(_derive(master, b"meterkms wrap key v1", 32))
        self._versions = tuple(self._keys)
        self._closed = False

    @property
    def key_version(self) -> str:
        """See :meth:`MasterKeyProvider.key_version`."""
        return self._versions[0]

    @property
    def known_versions(self) -> tuple[str, ...]:
        """See :meth:`MasterKeyProvider.known_versions`."""
        return self._versions

    def _aead(self, version: str) -> AESGCM:
        if self._closed:
            raise closed_error(self.kind)
        self._require_version(version)
        return self._keys[version]

    def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> WrappedKey:
        """See :meth:`MasterKeyProvider.wrap`."""
        check_data_key(plaintext)
        checked = validate_context(context)
        version = self.key_version
        nonce = os.urandom(12)
        sealed = self._aead(version).encrypt(nonce, plaintext, context_aad(version, checked))
        return WrappedKey(version, bytes((_WRAP_FORMAT,)) + nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, context: Mapping[str, str]) -> bytes:
        """See :meth:`MasterKeyProvider.unwrap`."""
        checked = validate_context(context)
        aead = self._aead(wrapped.master_key_version)
        data = wrapped.ciphertext
        failure = WrappedKeyIntegrityError(
            f"the wrapped data key does not open under master key {wrapped.master_key_version}"
            " with this context (tampered, or moved to another record)"
        )
        if len(data) != _WRAPPED_BYTES or data[0] != _WRAP_FORMAT:
            raise failure
        try:
            return aead.decrypt(
                data[1:13], data[13:], context_aad(wrapped.master_key_version, checked)
            )
        except InvalidTag:
            raise failure from None

    def health_check(self) -> ProviderHealth:
        """See :meth:`MasterKeyProvider.health_check`."""
        started = time.perf_counter()
        try:
            context = {"purpose": "meterkms-health-check"}
            plaintext, wrapped = self.generate_data_key(context)
            ok = self.unwrap(wrapped, context) == plaintext
            detail = "wrap and unwrap round trip ok" if ok else "round trip returned other bytes"
        except MasterKeyError as exc:
            ok, detail = False, str(exc)
        return ProviderHealth(
            ok, self.kind, self.key_version, detail, time.perf_counter() - started
        )

    def close(self) -> None:
        """See :meth:`MasterKeyProvider.close`."""
        self._closed = True
        self._keys = {}

    def __repr__(self) -> str:
        return f"LocalMasterKeyProvider(version={self.key_version!r}, source={self._origin!r})"
