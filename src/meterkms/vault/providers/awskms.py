"""The ``awskms`` provider: a symmetric AWS KMS key; data keys wrapped by KMS itself.

* new data key: ``GenerateDataKey(KeySpec=AES_256)``, which returns it in clear and wrapped;
* re-wrap (rotation, migration): ``Encrypt`` of the 32 bytes;
* unwrap: ``Decrypt`` with ``KeyId`` pinned to the expected key.

Every call carries the wrap context as ``EncryptionContext`` (purpose, data-key id, scope),
which KMS binds to the ciphertext and records in CloudTrail. The version id is
``awskms:<key ARN>`` as reported by ``DescribeKey``.

Rules enforced here rather than trusted to KMS (emulators such as moto ignore key policies):
the key must be an enabled ``SYMMETRIC_DEFAULT`` ``ENCRYPT_DECRYPT`` key at start; every
response must name the expected key ARN; a data key must come back as exactly 32 bytes.
Timeouts are short and retries few, so an unreachable KMS fails within seconds
(:class:`~meterkms.vault.errors.ProviderUnavailableError`) instead of hanging requests.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from typing import Any

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
except ImportError as exc:  # pragma: no cover - boto3 is an optional extra
    from meterkms.vault.errors import MasterKeyError

    raise MasterKeyError(
        "the awskms provider needs boto3 (pip install 'meterkms[awskms]')"
    ) from exc

from meterkms.vault.errors import (
    MasterKeyError,
    ProviderUnavailableError,
    VaultError,
    WrappedKeyIntegrityError,
)
from meterkms.vault.providers.base import (
    DATA_KEY_BYTES,
    MasterKeyProvider,
    ProviderHealth,
    WrappedKey,
    check_data_key,
    closed_error,
    validate_context,
)
from meterkms.vault.providers.config import AwsKmsConfig

_PREFIX = "awskms:"
#: Error codes that mean "this ciphertext/context/key does not open".
_NOT_AUTHENTIC = {"InvalidCiphertextException", "IncorrectKeyException"}
#: Error codes that mean the service is (temporarily) not serving us.
_UNAVAILABLE = {
    "DependencyTimeoutException",
    "KMSInternalException",
    "ThrottlingException",
    "LimitExceededException",
    "ServiceUnavailableException",
    "InternalFailure",
}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) or "unknown error"


class AwsKmsMasterKeyProvider(MasterKeyProvider):
    """Master key in AWS KMS (or an endpoint that speaks its API)."""

    kind = "awskms"

    def __init__(self, config: AwsKmsConfig) -> None:
        self._config = config
        self._closed = False
        self._client: Any = boto3.session.Session().client(
            "kms",
            region_name=config.region,
            endpoint_url=config.endpoint_url,
            config=Config(
                connect_timeout=config.timeout_seconds,
                read_timeout=config.timeout_seconds,
                retries={"max_attempts": config.max_attempts, "mode": "standard"},
            ),
        )
        arns: list[str] = []
        for key_id in (config.key_id, *config.previous_key_ids):
            arn = self._describe(key_id)
            if arn in arns:
                raise MasterKeyError(f"KMS key {key_id!r} is configured twice")
            arns.append(arn)
        self._arns = tuple(arns)
        self._versions = tuple(_PREFIX + arn for arn in arns)

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Call KMS and translate its failures into vault errors."""
        if self._closed:
            raise closed_error(self.kind)
        try:
            return getattr(self._client, operation)(**kwargs)  # type: ignore[no-any-return]
        except ClientError as exc:
            code = _code(exc)
            if code in _NOT_AUTHENTIC:
                raise WrappedKeyIntegrityError(
                    "the wrapped data key does not open under this KMS key with this context "
                    "(tampered, or moved to another record)"
                ) from None
            if code in _UNAVAILABLE:
                raise ProviderUnavailableError(f"AWS KMS {operation} failed: {code}") from None
            raise MasterKeyError(f"AWS KMS {operation} failed: {code}") from None
        except NoCredentialsError:
            raise MasterKeyError(
                "no AWS credentials found (environment, profile or instance role)"
            ) from None
        except BotoCoreError as exc:
            raise ProviderUnavailableError(
                f"AWS KMS cannot be reached ({type(exc).__name__})"
            ) from None

    def _describe(self, key_id: str) -> str:
        """The ARN of ``key_id`` after checking that it is a usable symmetric key."""
        meta = self._call("describe_key", KeyId=key_id)["KeyMetadata"]
        problems = []
        if meta.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
            problems.append(f"has key spec {meta.get('KeySpec')}")
        if meta.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
            problems.append(f"has key usage {meta.get('KeyUsage')}")
        if meta.get("KeyState") != "Enabled":
            problems.append(f"is in state {meta.get('KeyState')}")
        if problems:
            raise MasterKeyError(f"KMS key {key_id!r} {' and '.join(problems)}; refusing it")
        return str(meta["Arn"])

    def _expect_key(self, response: Mapping[str, Any], arn: str) -> None:
        if response.get("KeyId") != arn:
            raise MasterKeyError("AWS KMS answered for another key than the one asked for")

    @property
    def key_version(self) -> str:
        """See :meth:`MasterKeyProvider.key_version`."""
        return self._versions[0]

    @property
    def known_versions(self) -> tuple[str, ...]:
        """See :meth:`MasterKeyProvider.known_versions`."""
        return self._versions

    def generate_data_key(self, context: Mapping[str, str]) -> tuple[bytes, WrappedKey]:
        """``GenerateDataKey``: a new AES-256 data key in clear and wrapped by KMS."""
        checked = validate_context(context)
        arn = self._arns[0]
        response = self._call(
            "generate_data_key", KeyId=arn, KeySpec="AES_256", EncryptionContext=checked
        )
        self._expect_key(response, arn)
        plaintext = bytes(response["Plaintext"])
        if len(plaintext) != DATA_KEY_BYTES:
            raise MasterKeyError("AWS KMS returned a data key of the wrong length")
        return plaintext, WrappedKey(self.key_version, bytes(response["CiphertextBlob"]))

    def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> WrappedKey:
        """See :meth:`MasterKeyProvider.wrap` (KMS ``Encrypt``)."""
        check_data_key(plaintext)
        arn = self._arns[0]
        response = self._call(
            "encrypt", KeyId=arn, Plaintext=plaintext, EncryptionContext=validate_context(context)
        )
        self._expect_key(response, arn)
        return WrappedKey(self.key_version, bytes(response["CiphertextBlob"]))

    def unwrap(self, wrapped: WrappedKey, context: Mapping[str, str]) -> bytes:
        """See :meth:`MasterKeyProvider.unwrap` (KMS ``Decrypt`` pinned to the key)."""
        checked = validate_context(context)
        if self._closed:
            raise closed_error(self.kind)
        self._require_version(wrapped.master_key_version)
        arn = wrapped.master_key_version.removeprefix(_PREFIX)
        if not wrapped.ciphertext:
            raise WrappedKeyIntegrityError("the wrapped data key is empty")
        response = self._call(
            "decrypt", CiphertextBlob=wrapped.ciphertext, KeyId=arn, EncryptionContext=checked
        )
        self._expect_key(response, arn)
        plaintext = bytes(response["Plaintext"])
        if len(plaintext) != DATA_KEY_BYTES:
            raise WrappedKeyIntegrityError("the unwrapped data key has the wrong length")
        return plaintext

    def health_check(self) -> ProviderHealth:
        """See :meth:`MasterKeyProvider.health_check` (``GenerateDataKey`` + ``Decrypt``)."""
        started = time.perf_counter()
        try:
            context = {"purpose": "meterkms-health-check"}
            plaintext, wrapped = self.generate_data_key(context)
            ok = hmac.compare_digest(self.unwrap(wrapped, context), plaintext)
            detail = "KMS round trip ok" if ok else "round trip returned other bytes"
        except VaultError as exc:
            ok, detail = False, str(exc)
        return ProviderHealth(
            ok, self.kind, self.key_version, detail, time.perf_counter() - started
        )

    def close(self) -> None:
        """See :meth:`MasterKeyProvider.close`."""
        if not self._closed:
            self._closed = True
            self._client.close()

    def __repr__(self) -> str:
        return f"AwsKmsMasterKeyProvider(version={self.key_version!r})"
