"""Hygiene findings: blank, patterned, published and DES-weak keys; parity and text warnings."""

from __future__ import annotations

import pytest

from meterkms.vault.algorithms import Algorithm
from meterkms.vault.errors import KeyMaterialError
from meterkms.vault.keymaterial import (
    FindingCode,
    Severity,
    ensure_acceptable,
    generate_key,
    hygiene_findings,
    odd_parity_errors,
)
from meterkms.vault.keymaterial.known_keys import EXAMPLE_KEYS

H = bytes.fromhex


def codes(key: bytes, algorithm: Algorithm) -> set[FindingCode]:
    return {finding.code for finding in hygiene_findings(key, algorithm)}


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (bytes(16), FindingCode.ALL_ZERO),
        (b"\xff" * 16, FindingCode.ALL_FF),
        (b"\x5a" * 16, FindingCode.REPEATED_BYTE),
        (b"\x11" * 32, FindingCode.REPEATED_BYTE),
        (H("DEADBEEF") * 4, FindingCode.PATTERN),
        (H("0F0E0D0C0B0A09080706050403020100"), FindingCode.PATTERN),
        (H("102030405060708090A0B0C0D0E0F000"), FindingCode.PATTERN),
        (H("1234") * 8, FindingCode.PATTERN),
    ],
)
def test_blank_and_patterned_keys_are_rejected(key: bytes, code: FindingCode):
    algorithm = {16: Algorithm.AES128, 32: Algorithm.AES256}[len(key)]
    assert code in codes(key, algorithm)
    with pytest.raises(KeyMaterialError):
        ensure_acceptable(key, algorithm)


@pytest.mark.parametrize("key", sorted(EXAMPLE_KEYS), ids=lambda k: k.hex()[:12])
def test_every_published_example_key_is_rejected(key: bytes):
    algorithm = {
        8: Algorithm.DES,
        16: Algorithm.AES128,
        24: Algorithm.AES192,
        32: Algorithm.AES256,
    }[len(key)]
    assert FindingCode.KNOWN_EXAMPLE in codes(key, algorithm)
    with pytest.raises(KeyMaterialError, match="published example key"):
        ensure_acceptable(key, algorithm)


def test_fips_197_and_lorawan_default_keys_are_named():
    (finding,) = [
        f
        for f in hygiene_findings(H("2B7E151628AED2A6ABF7158809CF4F3C"), Algorithm.AES128)
        if f.code is FindingCode.KNOWN_EXAMPLE
    ]
    assert "FIPS-197" in finding.message


@pytest.mark.parametrize(
    "weak", ["0101010101010101", "FEFEFEFEFEFEFEFE", "E0E0E0E0F1F1F1F1", "1F1F1F1F0E0E0E0E"]
)
def test_des_weak_keys_are_rejected_with_or_without_parity(weak: str):
    assert FindingCode.DES_WEAK in codes(H(weak), Algorithm.DES)
    no_parity = bytes(b & 0xFE for b in H(weak))
    assert FindingCode.DES_WEAK in codes(no_parity, Algorithm.DES)


@pytest.mark.parametrize(
    "semi_weak", ["011F011F010E010E", "E001E001F101F101", "1FFE1FFE0EFE0EFE", "FEE0FEE0FEF1FEF1"]
)
def test_des_semi_weak_keys_are_rejected(semi_weak: str):
    assert FindingCode.DES_SEMI_WEAK in codes(H(semi_weak), Algorithm.DES)
    with pytest.raises(KeyMaterialError, match="semi-weak"):
        ensure_acceptable(H(semi_weak), Algorithm.DES)


def test_3des_key_with_a_weak_part_is_rejected_naming_the_part():
    key = generate_key(Algorithm.DES) + H("FEFEFEFEFEFEFEFE")
    with pytest.raises(KeyMaterialError, match="part 2 of the key is a DES weak key"):
        ensure_acceptable(key, Algorithm.TDES)


@pytest.mark.parametrize("shape", ["k1k1", "k1k1k2", "k1k2k2"])
def test_3des_keys_that_collapse_to_single_des_are_rejected(shape: str):
    parts = {"k1": generate_key(Algorithm.DES), "k2": generate_key(Algorithm.DES)}
    key = b"".join(parts[shape[i : i + 2]] for i in range(0, len(shape), 2))
    assert FindingCode.TDES_DEGENERATE in codes(key, Algorithm.TDES)


def test_3des_with_k1_equal_k3_is_two_key_3des_and_fine():
    k1, k2 = generate_key(Algorithm.DES), generate_key(Algorithm.DES)
    assert not {FindingCode.TDES_DEGENERATE} & codes(k1 + k2 + k1, Algorithm.TDES)


def test_wrong_des_parity_is_only_a_warning_with_the_count():
    key = bytearray(generate_key(Algorithm.DES))
    key[2] ^= 0x01
    key[6] ^= 0x01
    warnings = ensure_acceptable(bytes(key), Algorithm.DES)
    assert [w.code for w in warnings] == [FindingCode.DES_PARITY]
    assert warnings[0].severity is Severity.WARN
    assert warnings[0].message == "2 of 8 bytes do not have odd DES parity (first at byte 3)"
    assert odd_parity_errors(bytes(key)) == [2, 6]


def test_printable_text_key_is_a_warning():
    warnings = ensure_acceptable(b"Sommer2024!Haus#", Algorithm.AES128)
    assert [w.code for w in warnings] == [FindingCode.ASCII_TEXT]


@pytest.mark.parametrize("algorithm", sorted(Algorithm))
def test_random_keys_have_no_findings(algorithm: Algorithm):
    for _ in range(50):
        key = generate_key(algorithm)
        found = codes(key, algorithm) - {FindingCode.ASCII_TEXT}
        assert found == set()


def test_messages_never_contain_the_key():
    key = H("2B7E151628AED2A6ABF7158809CF4F3C")
    for finding in hygiene_findings(key, Algorithm.AES128) + hygiene_findings(
        H("0101010101010101"), Algorithm.DES
    ):
        assert key.hex() not in finding.message.lower()
        assert "0101010101010101" not in finding.message


def test_empty_key_is_rejected():
    with pytest.raises(KeyMaterialError, match="empty"):
        ensure_acceptable(b"", Algorithm.AES128)
