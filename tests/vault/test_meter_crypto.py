"""Meter primitives against published vectors (FIPS 197, SP 800-38A, RFC 4493, DES)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.vault import meter_crypto
from meterkms.vault.meter_crypto import MeterCryptoError

NIST_KEY = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
NIST_PLAIN = bytes.fromhex(
    "6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51"
    "30C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710"
)

aes_keys = st.binary(min_size=16, max_size=16)
blocks = st.integers(min_value=0, max_value=8).flatmap(
    lambda n: st.binary(min_size=16 * n, max_size=16 * n)
)


def test_aes_ecb_encrypt_matches_fips197_example():
    key = bytes(range(16))
    plain = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    cipher = meter_crypto.aes_ecb_encrypt(key, plain)
    assert cipher == bytes.fromhex("69C4E0D86A7B0430D8CDB78070B4C55A")
    assert meter_crypto.aes_ecb_decrypt(key, cipher) == plain


def test_aes_cbc_matches_sp800_38a_f21():
    iv = bytes(range(16))
    cipher = meter_crypto.aes_cbc_encrypt(NIST_KEY, iv, NIST_PLAIN)
    assert cipher.hex().upper() == (
        "7649ABAC8119B246CEE98E9B12E9197D5086CB9B507219EE95DB113A917678B2"
        "73BED6B8E3C1743B7116E69E222295163FF1CAA1681FAC09120ECA307586E1A7"
    )
    assert meter_crypto.aes_cbc_decrypt(NIST_KEY, iv, cipher) == NIST_PLAIN


def test_aes_ctr_matches_sp800_38a_f51():
    counter = bytes.fromhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF")
    cipher = meter_crypto.aes_ctr(NIST_KEY, counter, NIST_PLAIN)
    assert cipher.hex().upper() == (
        "874D6191B620E3261BEF6864990DB6CE9806F66B7970FDFF8617187BB9FFFDFF"
        "5AE4DF3EDBD5D35E5B4F09020DB03EAB1E031DDA2FBE03D1792170A0F3009CEE"
    )
    assert meter_crypto.aes_ctr(NIST_KEY, counter, cipher) == NIST_PLAIN


@pytest.mark.parametrize(
    ("length", "tag"),
    [
        (0, "BB1D6929E95937287FA37D129B756746"),
        (16, "070A16B46B4D4144F79BDD9DD04A287C"),
        (40, "DFA66747DE9AE63030CA32611497C827"),
        (64, "51F0BEBF7E3B9D92FC49741779363CFE"),
    ],
)
def test_aes_cmac_matches_rfc4493(length, tag):
    assert meter_crypto.aes_cmac(NIST_KEY, NIST_PLAIN[:length]).hex().upper() == tag


def test_aes_cmac_many_equals_one_cmac_per_message():
    messages = [NIST_PLAIN[:n] for n in (0, 1, 16, 17, 40, 64)]
    expected = [meter_crypto.aes_cmac(NIST_KEY, message) for message in messages]
    assert meter_crypto.aes_cmac_many(NIST_KEY, messages) == expected


def test_des_matches_classic_example():
    key = bytes.fromhex("133457799BBCDFF1")
    cipher = meter_crypto.des_cbc_encrypt(key, bytes(8), bytes.fromhex("0123456789ABCDEF"))
    assert cipher == bytes.fromhex("85E813540F0AB405")


def test_two_key_3des_is_k1_k2_k1():
    k1, k2 = bytes(range(8)), bytes(range(8, 16))
    data = bytes(range(32))
    iv = bytes(range(100, 108))
    two_key = meter_crypto.des_cbc_encrypt(k1 + k2, iv, data)
    assert two_key == meter_crypto.des_cbc_encrypt(k1 + k2 + k1, iv, data)
    assert two_key != meter_crypto.des_cbc_encrypt(k1 + k2 + k2, iv, data)


@given(key=aes_keys, iv=st.binary(min_size=16, max_size=16), data=blocks)
@settings(max_examples=100, deadline=None)
def test_aes_cbc_and_ecb_round_trip(key, iv, data):
    assert (
        meter_crypto.aes_cbc_decrypt(key, iv, meter_crypto.aes_cbc_encrypt(key, iv, data)) == data
    )
    assert meter_crypto.aes_ecb_decrypt(key, meter_crypto.aes_ecb_encrypt(key, data)) == data


@given(key=aes_keys, iv=st.binary(min_size=16, max_size=16), data=blocks.filter(len))
@settings(max_examples=100, deadline=None)
def test_first_cbc_block_is_ecb_decrypt_xor_iv(key, iv, data):
    """The shortcut the mode 5 check relies on."""
    cipher = meter_crypto.aes_cbc_encrypt(key, iv, data)
    head = meter_crypto.aes_ecb_decrypt(key, cipher[:16])
    assert bytes(a ^ b for a, b in zip(head, iv, strict=True)) == data[:16]


@given(
    key=st.sampled_from([8, 16, 24]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    iv=st.binary(min_size=8, max_size=8),
    data=st.integers(0, 6).flatmap(lambda n: st.binary(min_size=8 * n, max_size=8 * n)),
)
@settings(max_examples=100, deadline=None)
def test_des_cbc_round_trips_for_every_key_size(key, iv, data):
    assert (
        meter_crypto.des_cbc_decrypt(key, iv, meter_crypto.des_cbc_encrypt(key, iv, data)) == data
    )


@given(key=aes_keys, counter=st.binary(min_size=16, max_size=16), data=st.binary(max_size=80))
@settings(max_examples=100, deadline=None)
def test_aes_ctr_is_its_own_inverse_for_any_length(key, counter, data):
    assert meter_crypto.aes_ctr(key, counter, meter_crypto.aes_ctr(key, counter, data)) == data


@pytest.mark.parametrize(
    "call",
    [
        lambda key: meter_crypto.aes_ecb_decrypt(key[:15], bytes(16)),
        lambda key: meter_crypto.aes_ecb_encrypt(key, bytes(15)),
        lambda key: meter_crypto.aes_ecb_decrypt(key, bytes(17)),
        lambda key: meter_crypto.aes_cbc_decrypt(key, bytes(15), bytes(16)),
        lambda key: meter_crypto.aes_cbc_encrypt(key, bytes(16), bytes(1)),
        lambda key: meter_crypto.aes_ctr(key, bytes(8), bytes(3)),
        lambda key: meter_crypto.aes_cmac(key + b"x", b""),
        lambda key: meter_crypto.des_cbc_decrypt(key[:7], bytes(8), bytes(8)),
        lambda key: meter_crypto.des_cbc_encrypt(key[:8], bytes(7), bytes(8)),
        lambda key: meter_crypto.des_cbc_encrypt(key[:8], bytes(8), bytes(9)),
    ],
)
def test_wrong_lengths_raise_a_message_without_key_bytes(call):
    key = bytes.fromhex("A004EB23329A477F1DD2D7820B56EB3D")
    with pytest.raises(MeterCryptoError) as error:
        call(key)
    message = str(error.value)
    assert "bytes" in message
    for fragment in (key.hex(), key.hex().upper(), key[:4].hex(), key[:4].hex().upper()):
        assert fragment not in message


def test_ecb_decrypt_uses_the_direct_context_factory_when_it_passes_its_known_answer():
    assert meter_crypto._new_ecb_decryptor is not meter_crypto._public_decryptor


def test_ecb_decrypt_falls_back_to_the_public_api_when_the_factory_is_gone(monkeypatch):
    from cryptography.hazmat.bindings._rust import openssl as rust_openssl

    monkeypatch.delattr(rust_openssl.ciphers, "create_decryption_ctx")
    assert meter_crypto._ecb_decryptor_factory() is meter_crypto._public_decryptor


def test_ecb_decrypt_falls_back_when_the_factory_gives_a_wrong_answer(monkeypatch):
    from cryptography.hazmat.bindings._rust import openssl as rust_openssl

    class Wrong:
        def update(self, data: bytes) -> bytes:
            return bytes(len(data))

    monkeypatch.setattr(rust_openssl.ciphers, "create_decryption_ctx", lambda *args: Wrong())
    assert meter_crypto._ecb_decryptor_factory() is meter_crypto._public_decryptor


@given(key=aes_keys, data=blocks)
def test_ecb_decrypt_direct_and_public_paths_agree(key: bytes, data: bytes):
    direct = meter_crypto.aes_ecb_decrypt(key, data)
    public = meter_crypto._public_decryptor(meter_crypto.algorithms.AES128(key), meter_crypto._ECB)
    assert direct == public.update(data)
