"""Configuration of the master-key provider: one frozen dataclass per backend.

The settings module builds one of these from environment variables with
:func:`config_from_env`; tests and tools build them directly. Secrets (a key given as text, a
PIN) are excluded from ``repr()`` so a config object can be logged.

Environment variables (every name starts with ``METERKMS_``):

=====================================  =====================================================
``MASTER_KEY_PROVIDER``                ``local``, ``pkcs11`` or ``awskms`` (required)
``MASTER_KEY_FILE``                    local: path of the key file (64 hex or base64 of 32 B)
``MASTER_KEY``                         local: the key itself instead of a file
``MASTER_KEY_PREVIOUS_FILES``          local: comma-separated files of previous master keys
``MASTER_KEY_PREVIOUS``                local: comma-separated previous keys given as text
``MASTER_KEY_STRICT_PERMISSIONS``      local: refuse (not only warn) a group/other-readable file
``PKCS11_MODULE``                      pkcs11: module path (default SoftHSM2's)
``PKCS11_TOKEN_LABEL``                 pkcs11: label of the token (required)
``PKCS11_PIN`` / ``PKCS11_PIN_FILE``   pkcs11: user PIN, or a file holding it (one of them)
``PKCS11_KEY_LABEL``                   pkcs11: label of the AES-256 master key object
``PKCS11_PREVIOUS_KEY_LABELS``         pkcs11: comma-separated labels of previous keys
``AWSKMS_KEY_ID``                      awskms: key id, ARN or alias of the KMS key (required)
``AWSKMS_REGION``                      awskms: region (else boto3's own lookup)
``AWSKMS_ENDPOINT_URL``                awskms: endpoint override (VPC endpoint, tests)
``AWSKMS_PREVIOUS_KEY_IDS``            awskms: comma-separated previous KMS keys
``AWSKMS_TIMEOUT``                     awskms: connect/read timeout in seconds (default 5)
=====================================  =====================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from meterkms.vault.errors import MasterKeyError

DEFAULT_PKCS11_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
DEFAULT_PKCS11_KEY_LABEL = "meterkms-master-key"
PROVIDER_KINDS = ("local", "pkcs11", "awskms")


@dataclass(frozen=True)
class LocalKeyConfig:
    """The master key in a local file (``key_file``) or given directly (``key``).

    Exactly one of the two must be set. Previous keys stay usable for unwrapping only.
    """

    kind: ClassVar[str] = "local"
    key_file: Path | None = None
    key: str | None = field(default=None, repr=False)
    previous_key_files: tuple[Path, ...] = ()
    previous_keys: tuple[str, ...] = field(default=(), repr=False)
    strict_permissions: bool = False

    def __post_init__(self) -> None:
        if (self.key_file is None) == (self.key is None):
            raise MasterKeyError(
                "local master key: set exactly one of METERKMS_MASTER_KEY_FILE "
                "and METERKMS_MASTER_KEY"
            )


@dataclass(frozen=True)
class Pkcs11Config:
    """An AES-256 master key object inside a PKCS#11 token."""

    kind: ClassVar[str] = "pkcs11"
    token_label: str
    pin: str | None = field(default=None, repr=False)
    pin_file: Path | None = None
    key_label: str = DEFAULT_PKCS11_KEY_LABEL
    module: str = DEFAULT_PKCS11_MODULE
    previous_key_labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.token_label:
            raise MasterKeyError("pkcs11 master key: METERKMS_PKCS11_TOKEN_LABEL is not set")
        if (self.pin is None) == (self.pin_file is None):
            raise MasterKeyError(
                "pkcs11 master key: set exactly one of METERKMS_PKCS11_PIN "
                "and METERKMS_PKCS11_PIN_FILE"
            )
        if not self.key_label or self.key_label in self.previous_key_labels:
            raise MasterKeyError("pkcs11 master key: the key label must be set and not previous")

    def read_pin(self) -> str:
        """The user PIN, read from ``pin_file`` when given that way (trailing newline dropped)."""
        if self.pin is not None:
            return self.pin
        assert self.pin_file is not None
        try:
            return self.pin_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise MasterKeyError(
                f"cannot read PKCS#11 PIN file {self.pin_file}: {exc.strerror}"
            ) from None


@dataclass(frozen=True)
class AwsKmsConfig:
    """A symmetric AWS KMS key; boto3 finds credentials the usual way (env, role, profile)."""

    kind: ClassVar[str] = "awskms"
    key_id: str
    region: str | None = None
    endpoint_url: str | None = None
    previous_key_ids: tuple[str, ...] = ()
    timeout_seconds: float = 5.0
    max_attempts: int = 2

    def __post_init__(self) -> None:
        if not self.key_id:
            raise MasterKeyError("awskms master key: METERKMS_AWSKMS_KEY_ID is not set")
        if not (math.isfinite(self.timeout_seconds) and 0 < self.timeout_seconds <= 120):
            raise MasterKeyError("awskms master key: the timeout must be 0-120 seconds")
        if not 1 <= self.max_attempts <= 10:
            raise MasterKeyError("awskms master key: max_attempts must be between 1 and 10")


ProviderConfig = LocalKeyConfig | Pkcs11Config | AwsKmsConfig


def _list(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in environ.get(name, "").split(",") if part.strip())


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in {"", "0", "false", "no", "off"}:
        return False
    if value in {"1", "true", "yes", "on"}:
        return True
    raise MasterKeyError(f"{name} must be true or false, not {value!r}")


def _optional(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def config_from_env(environ: Mapping[str, str]) -> ProviderConfig:
    """Build the provider config from ``METERKMS_*`` variables (see the module docstring)."""
    kind = environ.get("METERKMS_MASTER_KEY_PROVIDER", "").strip().lower()
    if not kind:
        raise MasterKeyError(
            "METERKMS_MASTER_KEY_PROVIDER is not set: choose local, pkcs11 or awskms"
        )
    if kind == "local":
        key_file = _optional(environ, "METERKMS_MASTER_KEY_FILE")
        return LocalKeyConfig(
            key_file=Path(key_file) if key_file else None,
            key=_optional(environ, "METERKMS_MASTER_KEY"),
            previous_key_files=tuple(
                Path(p) for p in _list(environ, "METERKMS_MASTER_KEY_PREVIOUS_FILES")
            ),
            previous_keys=_list(environ, "METERKMS_MASTER_KEY_PREVIOUS"),
            strict_permissions=_flag(environ, "METERKMS_MASTER_KEY_STRICT_PERMISSIONS"),
        )
    if kind == "pkcs11":
        pin_file = _optional(environ, "METERKMS_PKCS11_PIN_FILE")
        return Pkcs11Config(
            module=_optional(environ, "METERKMS_PKCS11_MODULE") or DEFAULT_PKCS11_MODULE,
            token_label=environ.get("METERKMS_PKCS11_TOKEN_LABEL", "").strip(),
            # A PIN may legitimately start or end with spaces: take it verbatim.
            pin=environ.get("METERKMS_PKCS11_PIN") or None,
            pin_file=Path(pin_file) if pin_file else None,
            key_label=_optional(environ, "METERKMS_PKCS11_KEY_LABEL") or DEFAULT_PKCS11_KEY_LABEL,
            previous_key_labels=_list(environ, "METERKMS_PKCS11_PREVIOUS_KEY_LABELS"),
        )
    if kind == "awskms":
        timeout = _optional(environ, "METERKMS_AWSKMS_TIMEOUT") or "5"
        try:
            seconds = float(timeout)
        except ValueError:
            raise MasterKeyError(
                f"METERKMS_AWSKMS_TIMEOUT must be seconds, not {timeout!r}"
            ) from None
        return AwsKmsConfig(
            key_id=environ.get("METERKMS_AWSKMS_KEY_ID", "").strip(),
            region=_optional(environ, "METERKMS_AWSKMS_REGION"),
            endpoint_url=_optional(environ, "METERKMS_AWSKMS_ENDPOINT_URL"),
            previous_key_ids=_list(environ, "METERKMS_AWSKMS_PREVIOUS_KEY_IDS"),
            timeout_seconds=seconds,
        )
    raise MasterKeyError(
        f"METERKMS_MASTER_KEY_PROVIDER is {kind!r}; choose one of {', '.join(PROVIDER_KINDS)}"
    )
