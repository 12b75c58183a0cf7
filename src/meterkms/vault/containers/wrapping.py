"""Recipient keys and key wrapping: RSA-OAEP-SHA256, AES-KWP (RFC 5649), key check values.

``CKM_RSA_AES_KEY_WRAP`` (PKCS#11 2.40 §2.1.21) wraps a key for an RSA key holder as
``RSA-OAEP(ephemeral AES key) ‖ AES-KWP(ephemeral AES key, key)``; AWS KMS
(``RSA_AES_KEY_WRAP_SHA_256``) and Google Cloud KMS (``RSA_OAEP_*_SHA256_AES_256``) import that
same concatenation. The recipient container keeps one RSA-OAEP block per file and one KWP
blob per device key, so each key's import blob is the concatenation of the two.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap_with_padding,
)

from meterkms.vault.algorithms import Algorithm
from meterkms.vault.containers.errors import (
    ContainerError,
    DamagedFileError,
    SecretRequiredError,
    WrongSecretError,
)
from meterkms.vault.errors import KeyMaterialError
from meterkms.vault.kcv import key_check_value_hex

MIN_RSA_BITS = 2048
DEFAULT_RSA_BITS = 3072
EPHEMERAL_KEY_SIZE = 32


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


@dataclass(frozen=True, slots=True)
class RecipientKeyPair:
    """A recipient's RSA key pair as PEM: PKCS#8 private key and SubjectPublicKeyInfo."""

    private_pem: bytes = field(repr=False)
    public_pem: bytes


def generate_recipient_keypair(
    bits: int = DEFAULT_RSA_BITS, *, passphrase: str | None = None
) -> RecipientKeyPair:
    """Make an RSA key pair a recipient hands out (public) and keeps (private, optionally
    encrypted with ``passphrase``)."""
    if bits < MIN_RSA_BITS:
        raise ContainerError(f"recipient keys need at least {MIN_RSA_BITS} bits, not {bits}")
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return RecipientKeyPair(private_pem, public_pem)


def _fingerprint(public: rsa.RSAPublicKey) -> str:
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_recipient_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """Load an RSA public key (PEM public key or X.509 certificate) of at least 2048 bits."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in pem:
            public = x509.load_pem_x509_certificate(pem).public_key()
        else:
            public = serialization.load_pem_public_key(pem)
    except ValueError:
        raise ContainerError("the recipient key is not a PEM public key or certificate") from None
    if not isinstance(public, rsa.RSAPublicKey):
        raise ContainerError("the recipient key must be an RSA key")
    if public.key_size < MIN_RSA_BITS:
        raise ContainerError(
            f"the recipient key has {public.key_size} bits; at least {MIN_RSA_BITS} are required"
        )
    return public


def public_key_fingerprint(pem: bytes) -> str:
    """SHA-256 (hex) of the DER SubjectPublicKeyInfo: how a file names its recipient key."""
    return _fingerprint(load_recipient_public_key(pem))


def load_recipient_private_key(pem: bytes, passphrase: str | None) -> rsa.RSAPrivateKey:
    """Load the recipient's RSA private key (PEM, optionally passphrase-protected)."""
    secret = passphrase.encode("utf-8") if passphrase else None
    try:
        private = serialization.load_pem_private_key(pem, password=secret)
    except TypeError:
        if secret is None:
            raise SecretRequiredError(
                "the private key is encrypted; give its passphrase as the password"
            ) from None
        # A password given for an unencrypted key is not needed: ignore it.
        return load_recipient_private_key(pem, None)
    except ValueError:
        raise WrongSecretError(
            "the private key cannot be loaded: wrong passphrase, or not a PEM private key"
        ) from None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise WrongSecretError("the private key must be an RSA key")
    return private


def private_key_fingerprint(private: rsa.RSAPrivateKey) -> str:
    """Fingerprint of the public half of ``private`` (see :func:`public_key_fingerprint`)."""
    return _fingerprint(private.public_key())


def new_ephemeral_key(public: rsa.RSAPublicKey) -> tuple[bytes, bytes]:
    """A fresh AES-256 key and its RSA-OAEP-SHA256 encryption to ``public``."""
    key = os.urandom(EPHEMERAL_KEY_SIZE)
    return key, public.encrypt(key, _oaep())


def decrypt_ephemeral_key(private: rsa.RSAPrivateKey, encrypted: bytes) -> bytes:
    """The AES-256 key inside ``encrypted``; DamagedFileError if it does not decrypt."""
    try:
        key = private.decrypt(encrypted, _oaep())
    except ValueError:
        raise DamagedFileError("the encrypted file key does not decrypt: it was altered") from None
    if len(key) != EPHEMERAL_KEY_SIZE:
        raise DamagedFileError("the encrypted file key has the wrong length: it was altered")
    return key


def kwp_wrap(kek: bytes, key: bytes) -> bytes:
    """AES key wrap with padding (RFC 5649) of ``key`` under ``kek``."""
    return aes_key_wrap_with_padding(kek, key)


def kwp_unwrap(kek: bytes, wrapped: bytes) -> bytes | None:
    """The key inside an RFC 5649 blob, or None if its integrity check fails."""
    try:
        return aes_key_unwrap_with_padding(kek, wrapped)
    except InvalidUnwrap:
        return None


def key_check_value(key: bytes, algorithm: Algorithm | str) -> str:
    """Key check value (the vault's standard one), as a container error when it cannot be made."""
    try:
        return key_check_value_hex(key, Algorithm(algorithm))
    except (KeyMaterialError, ValueError) as exc:
        raise ContainerError(str(exc)) from None
