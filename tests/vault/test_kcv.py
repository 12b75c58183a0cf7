"""Key check values, checked against published vectors and independent implementations.

Independent means: the system ``openssl`` command (its own OpenSSL build, not the one inside
the ``cryptography`` wheel) for ECB of the zero block, and a CMAC written here from RFC 4493
on top of a single-block cipher, itself checked against RFC 4493's example.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from meterkms.vault.algorithms import Algorithm
from meterkms.vault.errors import KeyMaterialError
from meterkms.vault.kcv import KcvMethod, key_check_value, key_check_value_hex
from meterkms.vault.keymaterial import generate_key
from tests.support.tiers import require

H = bytes.fromhex

#: CIPH_K(0^128) from NIST SP 800-38B appendix D (and RFC 4493 for AES-128): published values.
SP800_38B_ZERO_BLOCK = {
    "2b7e151628aed2a6abf7158809cf4f3c": "7df76b0c1ab899b33e42f047b91b546f",
    "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b": "22452d8e49a8a5939f7321ceea6d514b",
    "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4": (
        "e568f68194cf76d6174d4cc04310a854"
    ),
}
AES = {16: Algorithm.AES128, 24: Algorithm.AES192, 32: Algorithm.AES256}


def openssl_zero_block(cipher: str, key: bytes, block: int) -> bytes:
    executable = shutil.which("openssl")
    require(executable is not None, "the openssl command")
    providers = ["-provider", "legacy", "-provider", "default"] if cipher == "des-ecb" else []
    result = subprocess.run(
        [executable, "enc", f"-{cipher}", *providers, "-K", key.hex(), "-nopad"],
        input=bytes(block),
        capture_output=True,
        check=True,
        timeout=30,
    )
    return result.stdout


@pytest.mark.parametrize(("key", "expected"), sorted(SP800_38B_ZERO_BLOCK.items()))
def test_aes_kcv_matches_the_published_zero_block_encryption(key: str, expected: str):
    assert key_check_value(H(key), AES[len(key) // 2]) == H(expected)[:3]


def test_aes_128_kcv_of_the_fips_197_key_is_7df76b():
    assert key_check_value_hex(H("2B7E151628AED2A6ABF7158809CF4F3C"), Algorithm.AES128) == "7DF76B"


@pytest.mark.parametrize("size", [16, 24, 32])
def test_aes_kcv_of_random_keys_matches_system_openssl(size: int):
    for _ in range(3):
        key = generate_key(AES[size])
        expected = openssl_zero_block(f"aes-{size * 8}-ecb", key, 16)
        assert key_check_value(key, AES[size], length=16) == expected


def test_des_kcv_of_0123456789abcdef_is_d5d44f():
    assert key_check_value_hex(H("0123456789ABCDEF"), Algorithm.DES) == "D5D44F"


@pytest.mark.parametrize(
    ("algorithm", "size", "cipher"),
    [
        (Algorithm.DES, 8, "des-ecb"),
        (Algorithm.TDES, 16, "des-ede-ecb"),
        (Algorithm.TDES, 24, "des-ede3-ecb"),
    ],
)
def test_des_and_3des_kcv_match_system_openssl(algorithm: Algorithm, size: int, cipher: str):
    for _ in range(3):
        key = generate_key(algorithm, size)
        assert key_check_value(key, algorithm, length=8) == openssl_zero_block(cipher, key, 8)


# -- CMAC variant ----------------------------------------------------------------------------------


def _double(block: bytes) -> bytes:
    value = int.from_bytes(block, "big") << 1
    if value >> 128:
        value = (value & ((1 << 128) - 1)) ^ 0x87
    return value.to_bytes(16, "big")


def reference_cmac(key: bytes, message: bytes) -> bytes:
    """AES-CMAC from RFC 4493 section 2.4, for one or more complete blocks."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    def encrypt(block: bytes) -> bytes:
        encryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
        return encryptor.update(block) + encryptor.finalize()

    k1 = _double(encrypt(bytes(16)))
    blocks = [message[i : i + 16] for i in range(0, len(message), 16)]
    state = bytes(16)
    for number, block in enumerate(blocks, start=1):
        if number == len(blocks):
            block = bytes(a ^ b for a, b in zip(block, k1, strict=True))
        state = encrypt(bytes(a ^ b for a, b in zip(state, block, strict=True)))
    return state


def test_reference_cmac_reproduces_rfc_4493_example_2():
    key = H("2B7E151628AED2A6ABF7158809CF4F3C")
    assert reference_cmac(key, H("6BC1BEE22E409F96E93D7E117393172A")) == H(
        "070A16B46B4D4144F79BDD9DD04A287C"
    )


@pytest.mark.parametrize("size", [16, 24, 32])
def test_cmac_kcv_matches_the_reference_cmac_of_the_zero_block(size: int):
    for _ in range(5):
        key = generate_key(AES[size])
        expected = reference_cmac(key, bytes(16))
        assert key_check_value(key, AES[size], method=KcvMethod.CMAC, length=16) == expected
        assert key_check_value(key, AES[size], method=KcvMethod.CMAC) == expected[:3]


def test_cmac_and_ecb_check_values_differ():
    key = H("2B7E151628AED2A6ABF7158809CF4F3C")
    assert key_check_value(key, Algorithm.AES128, method=KcvMethod.CMAC) != key_check_value(
        key, Algorithm.AES128
    )


# -- arguments ------------------------------------------------------------------------------------


def test_cmac_check_value_is_refused_for_des():
    with pytest.raises(KeyMaterialError, match="AES keys only"):
        key_check_value(generate_key(Algorithm.DES), Algorithm.DES, method=KcvMethod.CMAC)


@pytest.mark.parametrize(
    ("algorithm", "size"), [(Algorithm.AES128, 15), (Algorithm.TDES, 8), (Algorithm.DES, 16)]
)
def test_key_of_the_wrong_length_is_refused(algorithm: Algorithm, size: int):
    with pytest.raises(KeyMaterialError, match=f"not {size}"):
        key_check_value(bytes(range(1, size + 1)), algorithm)


@pytest.mark.parametrize(
    ("algorithm", "length"), [(Algorithm.AES128, 0), (Algorithm.AES128, 17), (Algorithm.DES, 9)]
)
def test_check_value_length_is_limited_to_one_block(algorithm: Algorithm, length: int):
    with pytest.raises(KeyMaterialError, match="check value is 1 to"):
        key_check_value(generate_key(algorithm), algorithm, length=length)
