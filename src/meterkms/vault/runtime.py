"""The vault of this process: provider from the settings, data keys in the database.

:func:`get_vault` opens the master-key provider once per process (after a fork the PKCS#11
provider re-initialises itself), verifies the stored check blob — creating it on the very
first start — and hands out one :class:`~meterkms.vault.engine.Vault`. Everything that seals
or opens device keys goes through it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from meterkms.vault.cache import DataKeyCache
from meterkms.vault.checkblob import create_check_blob, verify_check_blob
from meterkms.vault.djangostore import DjangoDataKeyStore
from meterkms.vault.engine import NonceBudget, Vault
from meterkms.vault.errors import VaultError
from meterkms.vault.models import MasterKeyCheck
from meterkms.vault.providers import (
    MasterKeyProvider,
    ProviderConfig,
    config_from_env,
    open_provider,
)

_lock = threading.Lock()
_vault: Vault | None = None


def provider_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The provider's ``METERKMS_*`` variables with the embedded defaults filled in."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("METERKMS_MASTER_KEY_PROVIDER", "local")
    if (
        env["METERKMS_MASTER_KEY_PROVIDER"].strip().lower() == "local"
        and not env.get("METERKMS_MASTER_KEY")
        and not env.get("METERKMS_MASTER_KEY_FILE")
    ):
        env["METERKMS_MASTER_KEY_FILE"] = str(settings.DATA_DIR / "master.key")
    return env


def provider_config() -> ProviderConfig:
    """The configured provider (raises :class:`MasterKeyError` naming a bad setting)."""
    return config_from_env(provider_environment())


def ensure_check_blob(provider: MasterKeyProvider) -> None:
    """Verify the stored check blob, or store one when this is the first start.

    Raises :class:`~meterkms.vault.errors.WrongMasterKeyError` when the configured master key
    does not open the stored blob.
    """
    check = MasterKeyCheck.objects.filter(pk=1).first()
    if check is not None:
        verify_check_blob(provider, bytes(check.blob))
        return
    blob = create_check_blob(provider)
    with transaction.atomic():
        MasterKeyCheck.objects.get_or_create(
            pk=1, defaults={"blob": blob, "master_key_version": provider.key_version}
        )
    stored = MasterKeyCheck.objects.get(pk=1)
    verify_check_blob(provider, bytes(stored.blob))


def get_vault() -> Vault:
    """The process's vault, opened and checked on first use."""
    global _vault
    if _vault is not None:
        return _vault
    with _lock:
        if _vault is None:
            provider = open_provider(provider_config())
            try:
                ensure_check_blob(provider)
            except VaultError:
                provider.close()
                raise
            cache = DataKeyCache(
                max_entries=settings.VAULT_DEK_CACHE_SIZE,
                ttl_seconds=settings.VAULT_DEK_CACHE_SECONDS,
            )
            budget = NonceBudget(lease_seconds=settings.VAULT_LEASE_SECONDS)
            _vault = Vault(provider, DjangoDataKeyStore(), cache=cache, budget=budget)
    return _vault


def reset_vault() -> None:
    """Forget the process's vault (tests, and after the configuration changed)."""
    global _vault
    with _lock:
        if _vault is not None:
            _vault.provider.close()
        _vault = None


@dataclass(frozen=True)
class Status:
    """Outcome of a master-key check; ``problem`` names what is wrong, never the key."""

    ok: bool
    problem: str = ""


def master_key_status() -> Status:
    """Can the vault be opened with the configured master key (and is it the right one)?"""
    try:
        vault = get_vault()
        health = vault.provider.health_check()
    except VaultError as exc:
        return Status(False, str(exc))
    if not health.ok:
        return Status(False, health.detail)
    return Status(True)
