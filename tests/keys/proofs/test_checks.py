"""Public vectors prove their keys; one flipped bit of key or checked frame bytes does not."""

import pytest

from meterkms.devices.enums import Technology
from meterkms.keys.proofs import (
    CheckKind,
    FrameError,
    LoRaWANMessage,
    Scheme,
    check_key,
    parse_capture,
    parse_frame,
)
from meterkms.keys.proofs.crc import strip_link_crcs
from meterkms.vault import meter_crypto

from .vectors import (
    DES_MODE2,
    ELL_CTR,
    JOIN_ACCEPT,
    JOIN_ACCEPT_DEV_ADDR,
    JOIN_ACCEPT_MIC,
    JOIN_REQUEST,
    MODE5_LONG_TPL,
    MODE7_KENC,
    MODE7_KMAC,
    MODE7_MAC,
    MODE7_WITH_CRCS,
    Vector,
)

WMBUS_VECTORS = [
    (MODE5_LONG_TPL, Scheme.MODE5, (CheckKind.FILLER,)),
    (MODE7_WITH_CRCS, Scheme.MODE7, (CheckKind.MAC, CheckKind.FILLER)),
    (DES_MODE2, Scheme.DES_MODE2, (CheckKind.FILLER,)),
    (ELL_CTR, Scheme.ELL_CTR, (CheckKind.CRC,)),
]


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def parse_accept(frame: bytes = JOIN_ACCEPT.frame_bytes) -> LoRaWANMessage:
    parsed = parse_capture([JOIN_REQUEST.frame, frame.hex()])
    assert not parsed.errors
    accept = parsed.telegrams[1]
    assert isinstance(accept, LoRaWANMessage)
    return accept


def proven(frame: bytes, key: bytes, *, accept: bool = False) -> bool:
    """Whether ``key`` is proven for ``frame``; an unreadable frame proves nothing."""
    try:
        telegram = parse_accept(frame) if accept else parse_frame(frame)
    except (FrameError, AssertionError):
        return False
    return check_key(telegram, key).proven


@pytest.mark.parametrize(("vector", "scheme", "kinds"), WMBUS_VECTORS, ids=lambda v: str(v))
def test_wmbus_vector_proves_its_key(vector: Vector, scheme, kinds):
    telegram = parse_frame(vector.frame_bytes)
    outcome = check_key(telegram, vector.key_bytes)
    assert telegram.scheme is scheme
    assert tuple(check.kind for check in outcome.checks) == kinds
    assert all(check.passed for check in outcome.checks)
    assert outcome.proven


@pytest.mark.parametrize("vector", [JOIN_REQUEST], ids=["join request"])
def test_join_request_vector_proves_its_key(vector):
    telegram = parse_frame(vector.frame_bytes)
    outcome = check_key(telegram, vector.key_bytes)
    assert telegram.scheme is Scheme.JOIN_REQUEST
    assert [(c.kind, c.passed) for c in outcome.checks] == [(CheckKind.MIC, True)]


def test_join_accept_vector_proves_its_key_and_decrypts_to_the_published_fields():
    accept = parse_accept()
    outcome = check_key(accept, JOIN_ACCEPT.key_bytes)
    assert accept.scheme is Scheme.JOIN_ACCEPT
    assert [(c.kind, c.passed) for c in outcome.checks] == [(CheckKind.MIC, True)]
    plain = meter_crypto.aes_ecb_encrypt(JOIN_ACCEPT.key_bytes, JOIN_ACCEPT.frame_bytes[1:])
    assert plain[-4:].hex().upper() == JOIN_ACCEPT_MIC
    assert plain[6:10][::-1].hex().upper() == JOIN_ACCEPT_DEV_ADDR


def test_mode5_vector_with_the_published_wrong_key_is_not_proven():
    wrong = bytes.fromhex(MODE5_LONG_TPL.key[:-2] + "3C")  # ...3D is right, ...3C is not
    outcome = check_key(parse_frame(MODE5_LONG_TPL.frame_bytes), wrong)
    assert [(c.kind, c.passed) for c in outcome.checks] == [(CheckKind.FILLER, False)]
    assert not outcome.proven


def test_mode7_vector_derives_the_published_kenc_kmac_and_mac():
    telegram = parse_frame(MODE7_WITH_CRCS.frame_bytes)
    afl, tpl = telegram.afl, telegram.tpl
    tail = afl.mcr + telegram.meter_raw[2:6] + b"\x07" * 7
    kenc, kmac = meter_crypto.aes_cmac_many(
        MODE7_WITH_CRCS.key_bytes, [b"\x00" + tail, b"\x01" + tail]
    )
    assert kenc.hex().upper() == MODE7_KENC
    assert kmac.hex().upper() == MODE7_KMAC
    assert afl.mac.hex().upper() == MODE7_MAC
    mac = meter_crypto.aes_cmac(kmac, bytes([afl.mcl]) + afl.mcr + telegram.frame[tpl.start :])
    assert mac[:8].hex().upper() == MODE7_MAC


ALL_VECTORS = [v for v, _, _ in WMBUS_VECTORS] + [JOIN_REQUEST, JOIN_ACCEPT]


@pytest.mark.parametrize("vector", ALL_VECTORS, ids=lambda v: v.name)
def test_every_one_bit_change_of_the_key_is_not_proven(vector: Vector):
    accept = vector is JOIN_ACCEPT
    key = vector.key_bytes
    assert proven(vector.frame_bytes, key, accept=accept)
    for bit in range(len(key) * 8):
        if vector is DES_MODE2 and bit % 8 == 0:
            continue  # the lowest bit of every DES key byte is a parity bit, unused by DES
        assert not proven(vector.frame_bytes, flip(key, bit), accept=accept), bit


def test_des_key_parity_bits_do_not_change_the_key():
    key = DES_MODE2.key_bytes
    assert proven(DES_MODE2.frame_bytes, flip(key, 0))


def _covered_bytes(vector: Vector) -> list[int]:
    """Offsets (in the frame without link CRCs) the vector's checks depend on."""
    frame = strip_frame(vector)
    if vector is MODE5_LONG_TPL:
        return [*range(15, 17), *range(23, 39)]  # TPL M field, first cipher block
    if vector is MODE7_WITH_CRCS:
        return [*range(4, 8), *range(17, len(frame))]  # ID, AFL from MCL on, TPL to the end
    if vector is DES_MODE2:
        return list(range(15, 23))  # the first DES block
    if vector is ELL_CTR:
        return [*range(2, 12), *range(13, len(frame))]  # M, A, CI, CC, SN, payload
    return list(range(len(frame)))  # LoRaWAN: the MIC covers every byte


def strip_frame(vector: Vector) -> bytes:
    frame = vector.frame_bytes
    if vector is MODE7_WITH_CRCS:
        stripped = strip_link_crcs(frame)
        assert isinstance(stripped, bytes)
        return stripped
    return frame


@pytest.mark.parametrize("vector", ALL_VECTORS, ids=lambda v: v.name)
def test_every_one_bit_change_of_a_checked_frame_byte_is_not_proven(vector: Vector):
    frame = strip_frame(vector)
    accept = vector is JOIN_ACCEPT
    assert proven(frame, vector.key_bytes, accept=accept)
    for offset in _covered_bytes(vector):
        for bit in range(8):
            if vector is ELL_CTR and offset == 11 and bit in (1, 4):
                continue  # CC bits 0x02 and 0x10 are cleared before they enter the IV
            changed = flip(frame, offset * 8 + bit)
            assert not proven(changed, vector.key_bytes, accept=accept), (offset, bit)


def test_every_one_bit_change_of_a_frame_with_link_crcs_is_rejected_as_damaged():
    frame = MODE7_WITH_CRCS.frame_bytes
    for bit in range(len(frame) * 8):  # a changed L field no longer fits the length
        with pytest.raises(FrameError, match=r"CRC|L field"):
            parse_frame(flip(frame, bit))


def test_check_with_a_key_of_the_wrong_length_says_what_length_is_needed():
    outcome = check_key(parse_frame(MODE5_LONG_TPL.frame_bytes), bytes(8))
    assert not outcome.proven
    assert not outcome.checks
    assert "16-byte key" in outcome.reason
    assert "8 bytes" in outcome.reason


def test_des_mode2_accepts_3des_key_lengths():
    telegram = parse_frame(DES_MODE2.frame_bytes)
    key = DES_MODE2.key_bytes
    assert check_key(telegram, key * 2).proven  # 2-key 3DES with K1 = K2 is single DES
    assert check_key(telegram, key * 3).proven


def test_cannot_tell_telegram_is_undecidable_for_any_key():
    plain = parse_frame(bytes.fromhex("0E44B40512345678F1077A31000000"))  # mode 0
    outcome = check_key(plain, bytes(16))
    assert outcome.undecidable
    assert not outcome.proven
    assert "not encrypted" in outcome.reason


def test_join_messages_are_checked_when_lorawan_is_forced():
    telegram = parse_frame(JOIN_REQUEST.frame_bytes, technology=Technology.LORAWAN)
    assert check_key(telegram, JOIN_REQUEST.key_bytes).proven
