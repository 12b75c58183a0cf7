"""Key check values (KCV): compare a key between two parties without revealing it.

Two conventions are in use:

* ``ENCRYPT_ZERO`` (the common one): the first bytes of the key's block cipher applied in ECB
  mode to one all-zero block: 16 zero bytes for AES, 8 for DES and 3DES.
* ``CMAC`` (AES only): the first bytes of AES-CMAC(K, one all-zero block), used by parties who
  avoid exposing a raw ECB output.

Three bytes (six hex digits) is the usual length; up to a full block may be asked for.
"""

from __future__ import annotations

from enum import StrEnum

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from meterkms.vault.algorithms import BLOCK_SIZES, KEY_LENGTHS, Algorithm
from meterkms.vault.errors import KeyMaterialError


class KcvMethod(StrEnum):
    """How the check value is computed."""

    ENCRYPT_ZERO = "encrypt-zero"
    CMAC = "cmac"


def _des_ede3_key(key: bytes) -> bytes:
    """Expand a DES or 2-key 3DES key to the 24-byte form (K1 K2 K3) the cipher takes.

    Single DES is 3DES with K1 = K2 = K3; 2-key 3DES is K3 = K1. The expansion is exact and
    avoids the deprecated short-key forms of the library.
    """
    if len(key) == 8:
        return key * 3
    if len(key) == 16:
        return key + key[:8]
    return key


# ECB on a single constant block is the definition of this check value, not a data mode.
_ECB = modes.ECB()  # noqa: S305


def key_check_value(
    key: bytes,
    algorithm: Algorithm,
    *,
    method: KcvMethod = KcvMethod.ENCRYPT_ZERO,
    length: int = 3,
) -> bytes:
    """The first ``length`` bytes of the check value of ``key`` used as ``algorithm``."""
    if len(key) not in KEY_LENGTHS[algorithm]:
        allowed = " or ".join(str(n) for n in KEY_LENGTHS[algorithm])
        raise KeyMaterialError(f"{algorithm} keys are {allowed} bytes long, not {len(key)}")
    block = BLOCK_SIZES[algorithm]
    if not 1 <= length <= block:
        raise KeyMaterialError(f"a check value is 1 to {block} bytes for {algorithm}")
    des = algorithm in (Algorithm.DES, Algorithm.TDES)
    if method is KcvMethod.CMAC:
        if des:
            raise KeyMaterialError("the CMAC check value is defined for AES keys only")
        mac = CMAC(algorithms.AES(key))
        mac.update(bytes(block))
        return mac.finalize()[:length]
    cipher = TripleDES(_des_ede3_key(key)) if des else algorithms.AES(key)
    # ECB on a single constant block is the definition of this check value, not a data mode.
    encryptor = Cipher(cipher, _ECB).encryptor()
    return (encryptor.update(bytes(block)) + encryptor.finalize())[:length]


def key_check_value_hex(
    key: bytes,
    algorithm: Algorithm,
    *,
    method: KcvMethod = KcvMethod.ENCRYPT_ZERO,
    length: int = 3,
) -> str:
    """The check value as upper-case hex (six digits by default), as sheets and HSMs show it."""
    return key_check_value(key, algorithm, method=method, length=length).hex().upper()
