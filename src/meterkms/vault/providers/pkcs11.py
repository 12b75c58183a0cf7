"""The ``pkcs11`` provider: an AES-256 master key object inside a PKCS#11 token (HSM).

The key is a token object that is sensitive and not extractable; the provider refuses a key
that is not. Data keys are wrapped inside the token with ``C_Encrypt``/``C_Decrypt`` and
``CKM_AES_GCM`` (SoftHSM refuses ``C_Encrypt`` with ``CKM_AES_KEY_WRAP``), with a random
12-byte IV and :func:`~meterkms.vault.providers.base.context_aad` as associated data. Wrapped
format 1: ``0x01 ‖ IV (12) ‖ ciphertext (32) ‖ tag (16)``. The version id is
``pkcs11:<key label>/<CKA_ID hex>``, stable across sessions and across a key restored into
another token.

Process rules (python-pkcs11 calls ``C_Initialize(NULL)``, which promises single-threaded
use; SoftHSM then drops its mutexes and two threads hang):

* every PKCS#11 call of the process runs under one lock, :data:`_LOCK`;
* one logged-in session per (module, token) per process, shared by all provider objects;
  login happens once (a second ``C_Login`` fails with ``UserAlreadyLoggedIn``, and closing a
  session can log out the others), so a second provider must present the same PIN;
* after ``fork()`` the child drops the parent's sessions without touching them, and the
  next call re-initialises the library (``C_Finalize`` + ``C_Initialize``) and logs in anew.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Mapping

try:
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
    from pkcs11 import exceptions as p11errors
    from pkcs11.mechanisms import GCMParams
except ImportError as exc:  # pragma: no cover - python-pkcs11 is an optional extra
    from meterkms.vault.errors import MasterKeyError

    raise MasterKeyError(
        "the pkcs11 provider needs python-pkcs11 (pip install 'meterkms[pkcs11]')"
    ) from exc

from meterkms.vault.errors import (
    MasterKeyError,
    ProviderUnavailableError,
    VaultError,
    WrappedKeyIntegrityError,
)
from meterkms.vault.providers.base import (
    MasterKeyProvider,
    ProviderHealth,
    WrappedKey,
    check_data_key,
    closed_error,
    context_aad,
    validate_context,
)
from meterkms.vault.providers.config import Pkcs11Config

_WRAP_FORMAT = 1
_WRAPPED_BYTES = 1 + 12 + 32 + 16

#: The one lock around every PKCS#11 call in this process (replaced in a forked child).
_LOCK = threading.RLock()
#: Logged-in sessions of this process by (module path, token label).
_SESSIONS: dict[tuple[str, str], _TokenSession] = {}
#: Process id that last (re-)initialised each module.
_INITIALISED_IN: dict[str, int] = {}
#: Per-process salt for comparing PINs without keeping a second copy of them.
_PIN_SALT = os.urandom(16)

#: Errors after which the session is gone and the next call must reconnect.
_GONE = (
    p11errors.DeviceError,
    p11errors.DeviceMemory,
    p11errors.DeviceRemoved,
    p11errors.TokenNotPresent,
    p11errors.TokenNotRecognised,
    p11errors.SessionClosed,
    p11errors.SessionHandleInvalid,
    p11errors.UserNotLoggedIn,
    p11errors.KeyHandleInvalid,
    p11errors.ObjectHandleInvalid,
)
#: Errors of C_Decrypt that mean "does not authenticate" (SoftHSM reports a GCM tag
#: mismatch as CKR_GENERAL_ERROR; others use CKR_ENCRYPTED_DATA_INVALID).
_NOT_AUTHENTIC = (
    p11errors.GeneralError,
    p11errors.EncryptedDataInvalid,
    p11errors.EncryptedDataLenRange,
    p11errors.FunctionFailed,
    p11errors.DataInvalid,
)


def _before_fork() -> None:
    _LOCK.acquire()


def _after_fork_in_parent() -> None:
    _LOCK.release()


def _after_fork_in_child() -> None:
    # The parent's sessions are not ours: forget them without closing (their handles may be
    # reused by the library after re-initialisation). _INITIALISED_IN still names the
    # parent, so the next call re-initialises the library.
    global _LOCK
    _LOCK = threading.RLock()
    _SESSIONS.clear()


os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)


def _library(module: str) -> pkcs11.lib:
    """The loaded module, initialised in this process (caller holds the lock)."""
    try:
        lib = pkcs11.lib(module)
    except p11errors.PKCS11Error as exc:
        raise MasterKeyError(f"cannot load PKCS#11 module {module}: {exc}") from None
    pid = os.getpid()
    if _INITIALISED_IN.get(module, pid) != pid:
        try:
            lib.reinitialize()
        except p11errors.PKCS11Error:
            lib.initialize()
    _INITIALISED_IN[module] = pid
    return lib


def _pin_digest(pin: str) -> bytes:
    return hmac.new(_PIN_SALT, pin.encode(), hashlib.sha256).digest()


class _TokenSession:
    """The logged-in session of one token in this process."""

    def __init__(self, module: str, token_label: str, pin: str) -> None:
        lib = _library(module)
        try:
            token = lib.get_token(token_label=token_label)
        except p11errors.NoSuchToken:
            raise MasterKeyError(
                f"no PKCS#11 token labelled {token_label!r} in module {module}"
            ) from None
        except p11errors.MultipleTokensReturned:
            raise MasterKeyError(f"several PKCS#11 tokens are labelled {token_label!r}") from None
        try:
            self.session = token.open(rw=True, user_pin=pin)
        except (p11errors.PinIncorrect, p11errors.PinInvalid, p11errors.PinLenRange):
            raise MasterKeyError(
                f"PKCS#11 login to token {token_label!r} failed: the PIN is incorrect"
            ) from None
        except p11errors.PinLocked:
            raise MasterKeyError(f"the PIN of PKCS#11 token {token_label!r} is locked") from None
        except p11errors.PKCS11Error as exc:
            raise MasterKeyError(
                f"PKCS#11 login to token {token_label!r} failed: {type(exc).__name__}"
            ) from None
        self.key = (module, token_label)
        self.pin_digest = _pin_digest(pin)
        self.users = 0


def _acquire(config: Pkcs11Config, pin: str) -> _TokenSession:
    """The shared session of the configured token, logging in if needed (lock held)."""
    key = (config.module, config.token_label)
    shared = _SESSIONS.get(key)
    if shared is None:
        shared = _SESSIONS[key] = _TokenSession(config.module, config.token_label, pin)
    elif not hmac.compare_digest(shared.pin_digest, _pin_digest(pin)):
        # The token is already logged in, so C_Login cannot check this PIN; refuse rather
        # than let a wrong PIN ride on another provider's login.
        raise MasterKeyError(
            f"PKCS#11 token {config.token_label!r} is already logged in in this process "
            "with a different PIN"
        )
    shared.users += 1
    return shared


def _release(shared: _TokenSession) -> None:
    """Drop one user of a shared session; close it when it was the last (lock held)."""
    shared.users -= 1
    if shared.users <= 0 and _SESSIONS.get(shared.key) is shared:
        del _SESSIONS[shared.key]
        # A failure to close leaves nothing to do: the session is gone either way.
        with contextlib.suppress(p11errors.PKCS11Error):
            shared.session.close()


def _find_key(session: pkcs11.Session, label: str, token_label: str) -> tuple[str, object]:
    """The master key object labelled ``label`` and its version id, after checking it."""
    try:
        key = session.get_key(object_class=ObjectClass.SECRET_KEY, label=label)
    except p11errors.NoSuchKey:
        raise MasterKeyError(
            f"no key labelled {label!r} in PKCS#11 token {token_label!r} "
            "(create one with meterkms.vault.providers.pkcs11.create_token_key)"
        ) from None
    except p11errors.MultipleObjectsReturned:
        raise MasterKeyError(
            f"several keys are labelled {label!r}; labels must be unique"
        ) from None
    problems = []
    if key[Attribute.KEY_TYPE] != KeyType.AES or key[Attribute.VALUE_LEN] != 32:
        problems.append("is not an AES-256 key")
    if key[Attribute.EXTRACTABLE]:
        problems.append("is extractable")
    if not key[Attribute.SENSITIVE]:
        problems.append("is not sensitive")
    if not (key[Attribute.ENCRYPT] and key[Attribute.DECRYPT]):
        problems.append("does not allow encrypt and decrypt")
    if problems:
        raise MasterKeyError(f"PKCS#11 key {label!r} {' and '.join(problems)}; refusing it")
    key_id = bytes(key[Attribute.ID] or b"")
    return f"pkcs11:{label}/{key_id.hex()}", key


def create_token_key(config: Pkcs11Config, label: str | None = None) -> str:
    """Create a new AES-256 master key in the token (``label`` or the config's); return its version.

    The key is generated inside the token as a private, sensitive, non-extractable token
    object usable only to encrypt and decrypt, with a random 16-byte CKA_ID. Refuses a label
    that is already taken.
    """
    name = label or config.key_label
    pin = config.read_pin()
    with _LOCK:
        shared = _acquire(config, pin)
        try:
            session = shared.session
            if list(session.get_objects({Attribute.LABEL: name})):
                raise MasterKeyError(f"PKCS#11 token {config.token_label!r} has {name!r} already")
            session.generate_key(
                KeyType.AES,
                256,
                id=os.urandom(16),
                label=name,
                store=True,
                template={
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.ENCRYPT: True,
                    Attribute.DECRYPT: True,
                    Attribute.WRAP: False,
                    Attribute.UNWRAP: False,
                    Attribute.SIGN: False,
                    Attribute.VERIFY: False,
                    Attribute.DERIVE: False,
                },
            )
            return _find_key(session, name, config.token_label)[0]
        except p11errors.PKCS11Error as exc:
            raise MasterKeyError(f"creating key {name!r} failed: {type(exc).__name__}") from None
        finally:
            _release(shared)


class Pkcs11MasterKeyProvider(MasterKeyProvider):
    """Master key inside a PKCS#11 token; the key value never reaches this process."""

    kind = "pkcs11"

    def __init__(self, config: Pkcs11Config) -> None:
        self._config = config
        self._pin = config.read_pin()
        self._closed = False
        self._shared: _TokenSession | None = None
        self._keys: dict[str, object] = {}
        with _LOCK:
            self._connect()
        self._versions = tuple(self._keys)

    def _connect(self) -> None:
        """Open (or join) the token session and look the keys up (lock held)."""
        shared = _acquire(self._config, self._pin)
        try:
            keys: dict[str, object] = {}
            for label in (self._config.key_label, *self._config.previous_key_labels):
                version, key = _find_key(shared.session, label, self._config.token_label)
                if version in keys:
                    raise MasterKeyError(f"PKCS#11 key {label!r} is configured twice")
                keys[version] = key
        except BaseException:
            _release(shared)
            raise
        if getattr(self, "_versions", None) and tuple(keys) != self._versions:
            _release(shared)
            raise MasterKeyError("the PKCS#11 keys changed since the provider was opened")
        self._shared, self._keys, self._pid = shared, keys, os.getpid()

    def _key(self, version: str) -> object:
        """The key object for ``version``, reconnecting after a fork or a lost session."""
        if self._closed:
            raise closed_error(self.kind)
        self._require_version(version)
        if self._pid != os.getpid() or _SESSIONS.get(self._config_key) is not self._shared:
            self._connect()
        return self._keys[version]

    @property
    def _config_key(self) -> tuple[str, str]:
        return (self._config.module, self._config.token_label)

    def _lost(self, exc: Exception) -> ProviderUnavailableError:
        """Forget a session that failed so the next call reconnects (lock held)."""
        if self._shared is not None and _SESSIONS.get(self._config_key) is self._shared:
            del _SESSIONS[self._config_key]
        return ProviderUnavailableError(
            f"PKCS#11 token {self._config.token_label!r} failed: {type(exc).__name__}"
        )

    @property
    def key_version(self) -> str:
        """See :meth:`MasterKeyProvider.key_version`."""
        return self._versions[0]

    @property
    def known_versions(self) -> tuple[str, ...]:
        """See :meth:`MasterKeyProvider.known_versions`."""
        return self._versions

    def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> WrappedKey:
        """See :meth:`MasterKeyProvider.wrap`."""
        check_data_key(plaintext)
        version = self.key_version
        aad = context_aad(version, validate_context(context))
        nonce = os.urandom(12)
        with _LOCK:
            key = self._key(version)
            try:
                sealed = key.encrypt(  # type: ignore[attr-defined]
                    plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad)
                )
            except _GONE as exc:
                raise self._lost(exc) from None
            except p11errors.PKCS11Error as exc:
                raise MasterKeyError(f"the token refused to wrap: {type(exc).__name__}") from None
        return WrappedKey(version, bytes((_WRAP_FORMAT,)) + nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, context: Mapping[str, str]) -> bytes:
        """See :meth:`MasterKeyProvider.unwrap`."""
        version = wrapped.master_key_version
        aad = context_aad(version, validate_context(context))
        data = wrapped.ciphertext
        failure = WrappedKeyIntegrityError(
            f"the wrapped data key does not open under master key {version} with this context "
            "(tampered, or moved to another record)"
        )
        with _LOCK:
            key = self._key(version)
            if len(data) != _WRAPPED_BYTES or data[0] != _WRAP_FORMAT:
                raise failure
            try:
                return key.decrypt(  # type: ignore[attr-defined]
                    data[13:],
                    mechanism=Mechanism.AES_GCM,
                    mechanism_param=GCMParams(data[1:13], aad),
                )
            except _GONE as exc:
                raise self._lost(exc) from None
            except _NOT_AUTHENTIC:
                raise failure from None
            except p11errors.PKCS11Error as exc:
                raise MasterKeyError(f"the token refused to unwrap: {type(exc).__name__}") from None

    def health_check(self) -> ProviderHealth:
        """See :meth:`MasterKeyProvider.health_check`."""
        started = time.perf_counter()
        try:
            context = {"purpose": "meterkms-health-check"}
            plaintext, wrapped = self.generate_data_key(context)
            ok = hmac.compare_digest(self.unwrap(wrapped, context), plaintext)
            detail = "GCM round trip in the token ok" if ok else "round trip returned other bytes"
        except VaultError as exc:
            ok, detail = False, str(exc)
        return ProviderHealth(
            ok, self.kind, self.key_version, detail, time.perf_counter() - started
        )

    def close(self) -> None:
        """See :meth:`MasterKeyProvider.close`."""
        with _LOCK:
            if self._closed:
                return
            self._closed = True
            shared, self._shared, self._keys = self._shared, None, {}
            if shared is not None and self._pid == os.getpid():
                _release(shared)

    def __repr__(self) -> str:
        return (
            f"Pkcs11MasterKeyProvider(token={self._config.token_label!r}, "
            f"key={self._config.key_label!r}, version={self.key_version!r})"
        )
