"""Master-key providers: ``local`` (key file), ``pkcs11`` (HSM token), ``awskms`` (AWS KMS).

:func:`open_provider` turns a config object (:mod:`meterkms.vault.providers.config`) into a
:class:`~meterkms.vault.providers.base.MasterKeyProvider`. The PKCS#11 and AWS modules are
imported only when chosen, so python-pkcs11 and boto3 stay optional.
"""

from __future__ import annotations

from meterkms.vault.providers.base import MasterKeyProvider, ProviderHealth, WrappedKey
from meterkms.vault.providers.config import (
    AwsKmsConfig,
    LocalKeyConfig,
    Pkcs11Config,
    ProviderConfig,
    config_from_env,
)

__all__ = [
    "AwsKmsConfig",
    "LocalKeyConfig",
    "MasterKeyProvider",
    "Pkcs11Config",
    "ProviderConfig",
    "ProviderHealth",
    "WrappedKey",
    "config_from_env",
    "open_provider",
]


def open_provider(config: ProviderConfig) -> MasterKeyProvider:
    """Open the provider that ``config`` describes; raise ``MasterKeyError`` if it cannot."""
    if isinstance(config, LocalKeyConfig):
        from meterkms.vault.providers.local import LocalMasterKeyProvider

        return LocalMasterKeyProvider(config)
    if isinstance(config, Pkcs11Config):
        from meterkms.vault.providers.pkcs11 import Pkcs11MasterKeyProvider

        return Pkcs11MasterKeyProvider(config)
    if isinstance(config, AwsKmsConfig):
        from meterkms.vault.providers.awskms import AwsKmsMasterKeyProvider

        return AwsKmsMasterKeyProvider(config)
    raise TypeError(f"not a master-key provider config: {type(config).__name__}")
