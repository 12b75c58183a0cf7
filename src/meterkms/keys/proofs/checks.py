"""Checking a candidate key against a parsed telegram: check outcomes, never plaintext.

Each scheme decrypts or authenticates only as much as its check needs and keeps the result
in a local variable: the functions return :class:`KeyCheck` (which checks passed), never a
key, a derived key or decrypted bytes.

- Mode 5: CBC's first plaintext block is D(K, C1) xor IV, and only its first two bytes
  (2F 2F) are checked, so one AES block decryption is all it takes; the IV's first two
  bytes are the M field (of the long TPL header when present).
- Mode 7: Kenc/Kmac by CMAC from the meter key, MAC over MCL, MCR (, ML) and the TPL part,
  then the first block under Kenc (IV 0) must start with 2F 2F.
- ELL AES-CTR: the first two plaintext bytes are the CRC-16 of the rest of the payload.
- DES mode 2: DES-CBC with IV 0, first block starts with 2F 2F.
- LoRaWAN: the join request MIC; the join accept is recovered with an AES encrypt and its
  MIC checked (LoRaWAN 1.0, or 1.1 with OptNeg using the paired join request).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence

from meterkms.vault import meter_crypto

from .crc import crc16_en13757
from .frames import Telegram
from .lorawan import LoRaWANMessage
from .model import Check, CheckKind, KeyCheck, Scheme
from .wmbus import WMBusTelegram

FILLER = 0x2F
_FILLER_OK = KeyCheck((Check(CheckKind.FILLER, True),), True)
_FILLER_FAIL = KeyCheck((Check(CheckKind.FILLER, False),), False)
_CRC_OK = KeyCheck((Check(CheckKind.CRC, True),), True)
_CRC_FAIL = KeyCheck((Check(CheckKind.CRC, False),), False)
_MIC_OK = KeyCheck((Check(CheckKind.MIC, True),), True)
_MIC_FAIL = KeyCheck((Check(CheckKind.MIC, False),), False)
_KDF_PAD = b"\x07" * 7
_KDF_ENC = b"\x00"  # derivation constant: encryption key, meter to partner
_KDF_MAC = b"\x01"  # derivation constant: MAC key, meter to partner

KEY_LENGTHS: dict[Scheme, tuple[int, ...]] = {
    Scheme.MODE5: (16,),
    Scheme.MODE7: (16,),
    Scheme.ELL_CTR: (16,),
    Scheme.JOIN_REQUEST: (16,),
    Scheme.JOIN_ACCEPT: (16,),
    Scheme.DES_MODE2: (8, 16, 24),
}


def check_key(telegram: Telegram, key: bytes) -> KeyCheck:
    """Check one candidate key against one telegram."""
    if telegram.scheme is Scheme.MODE5 and len(key) == 16:  # the bulk of real captures
        return _mode5(telegram, key)
    unfit = _unfit(telegram, key)
    if unfit is not None:
        return unfit
    if telegram.scheme is Scheme.MODE5:
        return _mode5(telegram, key)
    return _CHECKERS[telegram.scheme](telegram, key)


def check_key_many(telegrams: Sequence[Telegram], key: bytes) -> list[KeyCheck]:
    """Check one candidate key against many telegrams (typically of one device).

    Mode 5 telegrams share one AES call: their first cipher blocks are decrypted together.
    """
    if len(telegrams) == 1:
        return [check_key(telegrams[0], key)]
    results: dict[int, KeyCheck] = {}
    mode5: list[int] = []
    for index, telegram in enumerate(telegrams):
        unfit = _unfit(telegram, key)
        if unfit is not None:
            results[index] = unfit
        elif telegram.scheme is Scheme.MODE5:
            mode5.append(index)
        else:
            results[index] = _CHECKERS[telegram.scheme](telegram, key)
    if mode5:
        outcomes = _mode5_many([telegrams[index] for index in mode5], key)
        results.update(zip(mode5, outcomes, strict=True))
    return [results[index] for index in range(len(telegrams))]


def _unfit(telegram: Telegram, key: bytes) -> KeyCheck | None:
    """A KeyCheck when the key cannot be tried on this telegram at all, else None."""
    if telegram.cannot_tell:
        return KeyCheck((), False, telegram.cannot_tell, undecidable=True)
    lengths = KEY_LENGTHS[telegram.scheme]
    if len(key) in lengths:
        return None
    wanted = " or ".join(str(length) for length in lengths)
    return KeyCheck(
        (),
        False,
        f"{telegram.scheme.label} needs a {wanted}-byte key; this key has {len(key)} bytes",
    )


def _mode5(telegram: Telegram, key: bytes) -> KeyCheck:
    """2F 2F check of mode 5: only the first block, only its first two bytes."""
    assert isinstance(telegram, WMBusTelegram)
    assert telegram.tpl is not None
    start = telegram.tpl.payload_start
    plain = meter_crypto.aes_ecb_decrypt(key, telegram.frame[start : start + 16])
    head = telegram.meter_raw  # IV bytes 0 and 1 are the M field
    ok = plain[0] ^ head[0] == FILLER and plain[1] ^ head[1] == FILLER
    return _FILLER_OK if ok else _FILLER_FAIL


def _mode5_many(telegrams: Sequence[Telegram], key: bytes) -> list[KeyCheck]:
    """The mode 5 check for several telegrams under one key, one AES call for all."""
    blocks = []
    heads = []
    for telegram in telegrams:
        assert isinstance(telegram, WMBusTelegram)
        assert telegram.tpl is not None
        start = telegram.tpl.payload_start
        blocks.append(telegram.frame[start : start + 16])
        heads.append(telegram.meter_raw)
    plain = meter_crypto.aes_ecb_decrypt(key, b"".join(blocks))
    outcomes = []
    for number, head in enumerate(heads):
        at = number * 16
        ok = plain[at] ^ head[0] == FILLER and plain[at + 1] ^ head[1] == FILLER
        outcomes.append(_FILLER_OK if ok else _FILLER_FAIL)
    return outcomes


def _mode7(telegram: Telegram, key: bytes) -> KeyCheck:
    assert isinstance(telegram, WMBusTelegram)
    afl, tpl = telegram.afl, telegram.tpl
    assert afl is not None
    assert tpl is not None
    tail = afl.mcr + telegram.meter_raw[2:6] + _KDF_PAD
    kenc, kmac = meter_crypto.aes_cmac_many(key, (_KDF_ENC + tail, _KDF_MAC + tail))
    checks = []
    if afl.mac:
        message = bytes((afl.mcl,)) + afl.mcr + afl.ml + telegram.frame[tpl.start :]
        tag = meter_crypto.aes_cmac(kmac, message)[: len(afl.mac)]
        checks.append(Check(CheckKind.MAC, hmac.compare_digest(tag, afl.mac)))
    if tpl.blocks:
        first = telegram.frame[tpl.payload_start : tpl.payload_start + 16]
        plain = meter_crypto.aes_ecb_decrypt(kenc, first)  # CBC with IV 0: no xor needed
        checks.append(Check(CheckKind.FILLER, plain[0] == FILLER and plain[1] == FILLER))
    return KeyCheck(tuple(checks), all(check.passed for check in checks))


def _ell_ctr(telegram: Telegram, key: bytes) -> KeyCheck:
    assert isinstance(telegram, WMBusTelegram)
    assert telegram.ell is not None
    ell = telegram.ell
    # IV: M, A of the link layer, CC without its hop-count and repeated-access bits, SN,
    # frame number 0 and block counter 0 (the counter runs in the last byte).
    counter = telegram.link_raw + bytes((ell.cc & 0xED,)) + ell.sn + b"\x00\x00\x00"
    plain = meter_crypto.aes_ctr(key, counter, telegram.frame[ell.payload_start :])
    ok = (plain[0] | plain[1] << 8) == crc16_en13757(plain[2:])
    return _CRC_OK if ok else _CRC_FAIL


def _des_mode2(telegram: Telegram, key: bytes) -> KeyCheck:
    assert isinstance(telegram, WMBusTelegram)
    assert telegram.tpl is not None
    start = telegram.tpl.payload_start
    plain = meter_crypto.des_cbc_decrypt(key, bytes(8), telegram.frame[start : start + 8])
    return _FILLER_OK if plain[0] == FILLER and plain[1] == FILLER else _FILLER_FAIL


def _join_request(telegram: Telegram, key: bytes) -> KeyCheck:
    frame = telegram.frame
    mic = meter_crypto.aes_cmac(key, frame[:19])[:4]
    return _MIC_OK if hmac.compare_digest(mic, frame[19:23]) else _MIC_FAIL


def _join_accept(telegram: Telegram, key: bytes) -> KeyCheck:
    assert isinstance(telegram, LoRaWANMessage)
    assert telegram.request is not None
    frame = telegram.frame
    # The network server "encrypts" with AES decrypt, so the device recovers with encrypt.
    plain = meter_crypto.aes_ecb_encrypt(key, frame[1:])
    body, mic = plain[:-4], plain[-4:]
    if body[10] & 0x80:  # DLSettings.OptNeg: LoRaWAN 1.1 join server, MIC under JSIntKey
        request = telegram.request.frame
        js_int_key = meter_crypto.aes_ecb_encrypt(key, b"\x06" + request[9:17] + bytes(7))
        message = b"\xff" + request[1:9] + request[17:19] + frame[:1] + body
        expected = meter_crypto.aes_cmac(js_int_key, message)[:4]
    else:
        expected = meter_crypto.aes_cmac(key, frame[:1] + body)[:4]
    return _MIC_OK if hmac.compare_digest(expected, mic) else _MIC_FAIL


_CHECKERS: dict[Scheme, Callable[[Telegram, bytes], KeyCheck]] = {
    Scheme.MODE7: _mode7,
    Scheme.ELL_CTR: _ell_ctr,
    Scheme.DES_MODE2: _des_mode2,
    Scheme.JOIN_REQUEST: _join_request,
    Scheme.JOIN_ACCEPT: _join_accept,
}
