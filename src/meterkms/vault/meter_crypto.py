"""Block-cipher primitives used by meters and LoRaWAN devices, as small functions on bytes.

Proving a stored key against captured traffic needs the raw primitives the devices use:
AES-128 ECB/CBC/CTR, AES-CMAC (RFC 4493) and DES/3DES-CBC. They live here because the vault
is the only package that imports cryptographic primitives for key material; callers pass
key bytes in and get bytes out, nothing is cached between calls (no device key outlives the
call that needed it).

Speed matters: a batch proof runs one key schedule per telegram, and with the Python-level
API of ``cryptography`` the object construction costs as much as the cipher itself. So the
functions skip everything that is not needed for whole blocks without padding: stateless mode
objects are shared, ``finalize()`` is not called once the input was checked to be a whole
number of blocks (it would return nothing), and one CMAC key schedule serves many messages.

Error messages name lengths only, never key bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

AES_BLOCK = 16
DES_BLOCK = 8

# ECB holds no state, so one instance serves every call. Raw block operations are what the
# protocols prescribe (LoRaWAN join accept, key derivation, a CBC block), not a data mode.
_ECB = modes.ECB()  # noqa: S305


def _public_decryptor(algorithm: algorithms.AES128, mode: modes.ECB) -> Any:
    return Cipher(algorithm, mode).decryptor()


def _ecb_decryptor_factory() -> Callable[[algorithms.AES128, modes.ECB], Any]:
    """The cipher-context factory behind ``Cipher.decryptor()``, when it can be called directly.

    ``Cipher`` and ``decryptor()`` only check their arguments' types (abstract-class checks,
    a third of a one-block decryption); the hot path below passes known-good ones. The
    factory is internal to ``cryptography``, so it is used only after it decrypted the
    FIPS-197 example block correctly; otherwise the public API serves.
    """
    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        factory = rust_openssl.ciphers.create_decryption_ctx
        known = factory(algorithms.AES128(bytes(range(16))), _ECB).update(_FIPS197_CIPHER)
    except Exception:  # any change inside cryptography: use the public API
        return _public_decryptor
    return factory if known == _FIPS197_PLAIN else _public_decryptor


# FIPS-197 appendix C.1: AES-128, key 00 01 .. 0f.
_FIPS197_PLAIN = bytes.fromhex("00112233445566778899aabbccddeeff")
_FIPS197_CIPHER = bytes.fromhex("69c4e0d86a7b0430d8cdb78070b4c55a")
_new_ecb_decryptor = _ecb_decryptor_factory()


class MeterCryptoError(ValueError):
    """A primitive was called with a key, IV or data of the wrong length."""


def _aes(key: bytes) -> algorithms.AES:
    """The AES algorithm object for ``key`` (AES128 skips the generic size dispatch)."""
    if len(key) == 16:
        return algorithms.AES128(key)
    if len(key) in (24, 32):
        return algorithms.AES(key)
    raise MeterCryptoError(f"an AES key has 16, 24 or 32 bytes, got {len(key)}")


def _check_blocks(data: bytes, block: int, what: str) -> None:
    if len(data) % block:
        raise MeterCryptoError(f"{what} works on whole {block}-byte blocks, got {len(data)} bytes")


def _check_iv(iv: bytes, size: int) -> None:
    if len(iv) != size:
        raise MeterCryptoError(f"the IV has {size} bytes, got {len(iv)}")


def aes_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """AES-ECB encrypt whole blocks (LoRaWAN join-accept "decryption", key check values)."""
    _check_blocks(data, AES_BLOCK, "AES-ECB")
    return Cipher(_aes(key), _ECB).encryptor().update(data)


def aes_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    """AES-ECB decrypt whole blocks.

    Many blocks under one key go in one call: that is the cheap way to decrypt the first
    block of every telegram of one meter (CBC's first plaintext block is D(C1) xor IV).
    This is the hot path of a batch proof, hence the inlined checks for AES-128.
    """
    if len(key) == 16 and not len(data) % AES_BLOCK:
        return _new_ecb_decryptor(algorithms.AES128(key), _ECB).update(data)  # type: ignore[no-any-return]
    _check_blocks(data, AES_BLOCK, "AES-ECB")
    return Cipher(_aes(key), _ECB).decryptor().update(data)


def aes_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CBC encrypt whole blocks without padding (wM-Bus TPL security modes 5 and 7)."""
    _check_iv(iv, AES_BLOCK)
    _check_blocks(data, AES_BLOCK, "AES-CBC")
    return Cipher(_aes(key), modes.CBC(iv)).encryptor().update(data)


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CBC decrypt whole blocks without padding (wM-Bus TPL security modes 5 and 7)."""
    _check_iv(iv, AES_BLOCK)
    _check_blocks(data, AES_BLOCK, "AES-CBC")
    return Cipher(_aes(key), modes.CBC(iv)).decryptor().update(data)


def aes_ctr(key: bytes, counter_block: bytes, data: bytes) -> bytes:
    """AES-CTR over any length; encryption and decryption are the same operation.

    ``counter_block`` is the first 16-byte counter; it is incremented as one big-endian
    128-bit number per block, which for the wM-Bus ELL IV means its last byte (BC) counts.
    """
    _check_iv(counter_block, AES_BLOCK)
    return Cipher(_aes(key), modes.CTR(counter_block)).encryptor().update(data)


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (RFC 4493), the full 16-byte tag; callers truncate as their protocol says."""
    mac = CMAC(_aes(key))
    mac.update(data)
    return mac.finalize()


def aes_cmac_many(key: bytes, messages: Iterable[bytes]) -> list[bytes]:
    """AES-CMAC of several messages under one key, with one key schedule for all of them.

    The wM-Bus mode 7 key derivation computes two CMACs under the meter key; copying a
    prepared CMAC object is several times cheaper than building a new one.
    """
    base = CMAC(_aes(key))
    tags = []
    for message in messages:
        mac = base.copy()
        mac.update(message)
        tags.append(mac.finalize())
    return tags


def _des(key: bytes) -> TripleDES:
    """The TripleDES object for a DES (8), 2-key (16) or 3-key (24) 3DES key.

    Single DES is 3DES with K1 = K2 = K3, and 2-key 3DES is K3 = K1; spelling the key out
    to 24 bytes keeps ``cryptography`` from warning about the short forms.
    """
    if len(key) == 8:
        return TripleDES(key * 3)
    if len(key) == 16:
        return TripleDES(key + key[:8])
    if len(key) == 24:
        return TripleDES(key)
    raise MeterCryptoError(f"a DES or 3DES key has 8, 16 or 24 bytes, got {len(key)}")


def des_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """DES/3DES-CBC encrypt whole blocks without padding (deprecated wM-Bus mode 2)."""
    _check_iv(iv, DES_BLOCK)
    _check_blocks(data, DES_BLOCK, "DES-CBC")
    return Cipher(_des(key), modes.CBC(iv)).encryptor().update(data)


def des_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """DES/3DES-CBC decrypt whole blocks without padding (deprecated wM-Bus mode 2)."""
    _check_iv(iv, DES_BLOCK)
    _check_blocks(data, DES_BLOCK, "DES-CBC")
    return Cipher(_des(key), modes.CBC(iv)).decryptor().update(data)
