"""Keys that are public: specification examples, shipped defaults and DES weak keys.

A device or master key equal to one of these protects nothing: anyone who has read the
specification has the key. Devices have been shipped with such sample keys (FIPS-197 example
keys, LoRaMac-node's default AppKey ``2B7E1516…``), and OpenStack Barbican shipped a default
master key; the hygiene checks and the local master-key provider refuse them.

DES keys are compared with their parity bits cleared (bit 0 of every byte is not part of the
DES key), so a weak key matches whatever its parity bits are.
"""

from __future__ import annotations

#: Published example and default keys, by source. Hex strings, compared as bytes.
_EXAMPLE_KEYS_HEX: dict[str, str] = {
    # FIPS-197 appendix C (also the RFC 3394 key-encryption key, OMS test vectors)
    "000102030405060708090a0b0c0d0e0f": "FIPS-197 C.1 example key",
    "000102030405060708090a0b0c0d0e0f1011121314151617": "FIPS-197 C.2 example key",
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f": (
        "FIPS-197 C.3 example key"
    ),
    # FIPS-197 appendix A, NIST SP 800-38A/B, RFC 4493; LoRaMac-node's default keys
    "2b7e151628aed2a6abf7158809cf4f3c": "FIPS-197 A.1 / SP 800-38A example key",
    "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b": "FIPS-197 A.2 / SP 800-38A example key",
    "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4": (
        "FIPS-197 A.3 / SP 800-38A example key"
    ),
    # The GCM specification's test cases (McGrew/Viega), reused in SP 800-38D examples
    "feffe9928665731c6d6a8f9467308308": "GCM specification test key",
    "feffe9928665731c6d6a8f9467308308feffe9928665731c": "GCM specification test key",
    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308": (
        "GCM specification test key"
    ),
    # NIST SP 800-38C CCM example
    "404142434445464748494a4b4c4d4e4f": "SP 800-38C example key",
    # RFC 3394 key data (also the FIPS-197 example plaintext)
    "00112233445566778899aabbccddeeff": "RFC 3394 example key data",
    "00112233445566778899aabbccddeeff0001020304050607": "RFC 3394 example key data",
    "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f": (
        "RFC 3394 example key data"
    ),
    # Placeholders that show up in documentation and sample configurations
    "0123456789abcdef0123456789abcdef": "placeholder key",
    "0123456789abcdeffedcba9876543210": "classic DES/3DES example key",
    "0123456789abcdef23456789abcdef01456789abcdef0123": "SP 800-67 3DES example key",
    "0123456789abcdef": "classic DES example key",
    "fedcba9876543210": "classic DES example key",
    "133457799bbcdff1": "textbook DES example key",
    "0e329232ea6d0d73": "textbook DES example key",
    # OpenStack Barbican simple_crypto plugin default KEK (base64
    # dGhpcnR5X3R3b19ieXRlX2tleWJsYWhibGFoYmxhaGg=), shipped in its sample configuration
    b"thirty_two_byte_keyblahblahblahh".hex(): "OpenStack Barbican's default master key",
}

EXAMPLE_KEYS: dict[bytes, str] = {bytes.fromhex(k): v for k, v in _EXAMPLE_KEYS_HEX.items()}


def strip_des_parity(key: bytes) -> bytes:
    """``key`` with bit 0 of every byte cleared (the DES parity bits)."""
    return bytes(b & 0xFE for b in key)


#: DES weak keys: encryption equals decryption (FIPS 74 / NIST SP 800-67 §3.3.2).
DES_WEAK_KEYS: frozenset[bytes] = frozenset(
    strip_des_parity(bytes.fromhex(k))
    for k in ("0101010101010101", "FEFEFEFEFEFEFEFE", "E0E0E0E0F1F1F1F1", "1F1F1F1F0E0E0E0E")
)

#: DES semi-weak keys: pairs where one key decrypts what the other encrypts.
DES_SEMI_WEAK_KEYS: frozenset[bytes] = frozenset(
    strip_des_parity(bytes.fromhex(k))
    for k in (
        "011F011F010E010E",
        "1F011F010E010E01",
        "01E001E001F101F1",
        "E001E001F101F101",
        "01FE01FE01FE01FE",
        "FE01FE01FE01FE01",
        "1FE01FE00EF10EF1",
        "E01FE01FF10EF10E",
        "1FFE1FFE0EFE0EFE",
        "FE1FFE1FFE0EFE0E",
        "E0FEE0FEF1FEF1FE",
        "FEE0FEE0FEF1FEF1",
    )
)

#: Example keys with DES parity cleared, for comparing DES and 3DES keys.
_EXAMPLE_KEYS_DES: dict[bytes, str] = {strip_des_parity(k): v for k, v in EXAMPLE_KEYS.items()}


def known_example(key: bytes, *, des: bool = False) -> str | None:
    """The source of ``key`` if it is a published example or default key, else None."""
    if des:
        return _EXAMPLE_KEYS_DES.get(strip_des_parity(key))
    return EXAMPLE_KEYS.get(key)
