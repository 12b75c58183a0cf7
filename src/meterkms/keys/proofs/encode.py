"""Building valid protected telegrams from plaintext ones, as meters and devices do.

The counterpart of the checks: tests (and anyone who wants a sample capture) take a
realistic plaintext telegram, protect it under a key and feed it to the parser and the
checks. Each function takes a whole plaintext frame (without link CRCs) and returns the
protected frame; :func:`add_link_crcs` turns any of them into frame format A as on air.
"""

from __future__ import annotations

from meterkms.vault import meter_crypto

from .crc import add_link_crcs, crc16_en13757
from .model import FrameError
from .wmbus import LINK_HEADER, MAC_LENGTHS, TplHeader, WMBusTelegram, parse_wmbus

__all__ = [
    "add_link_crcs",
    "encode_join_accept",
    "encode_join_request",
    "encrypt_des_mode2",
    "encrypt_ell_ctr",
    "encrypt_mode5",
    "encrypt_mode7",
    "set_security",
]

KDF_A = 0x10  # CW extension byte: key derivation function A, key version 0


def _with_length(body: bytes) -> bytes:
    """Prefix the L field (number of bytes after it)."""
    if len(body) > 255:
        raise FrameError(f"a wM-Bus frame holds at most 255 bytes after L, got {len(body)}")
    return bytes((len(body),)) + body


def _tpl_of(plain: bytes) -> tuple[WMBusTelegram, TplHeader]:
    telegram = parse_wmbus(plain)
    if telegram.tpl is None:
        raise FrameError("the plaintext frame has no TPL header (CI 7A or 72)")
    return telegram, telegram.tpl


def set_security(plain: bytes, *, mode: int, blocks: int) -> bytes:
    """Rewrite the CW field of a plaintext frame (mode, number of encrypted blocks).

    Adds the CW extension byte (KDF-A) when switching to mode 7 and removes it when leaving
    mode 7, and fixes the L field.
    """
    _, tpl = _tpl_of(plain)
    cw = (tpl.cw & ~0x1FF0) | (mode & 0x1F) << 8 | (blocks & 0x0F) << 4
    cw_at = tpl.payload_start - (3 if tpl.cw_ext is not None else 2)
    ext = bytes((KDF_A,)) if mode == 7 else b""
    body = plain[1:cw_at] + cw.to_bytes(2, "little") + ext + plain[tpl.payload_start :]
    return _with_length(body)


def _split(plain: bytes, tpl: TplHeader, block: int = 16) -> tuple[bytes, bytes, bytes]:
    """Header, the blocks the CW announces, and the plaintext rest."""
    start = tpl.payload_start
    end = start + tpl.blocks * block
    if end > len(plain):
        raise FrameError(f"the CW announces {tpl.blocks} blocks, the frame is too short")
    return plain[:start], plain[start:end], plain[end:]


def encrypt_mode5(plain: bytes, key: bytes) -> bytes:
    """Encrypt a plaintext frame whose CW says mode 5 (AES-CBC, IV = M A ACC*8)."""
    telegram, tpl = _tpl_of(plain)
    if tpl.mode != 5:
        raise FrameError(f"the CW field says security mode {tpl.mode}, not 5")
    head, blocks, rest = _split(plain, tpl)
    iv = telegram.meter_raw + bytes((tpl.acc,)) * 8
    return head + meter_crypto.aes_cbc_encrypt(key, iv, blocks) + rest


def encrypt_des_mode2(plain: bytes, key: bytes) -> bytes:
    """Encrypt a plaintext frame whose CW says mode 2 (DES-CBC, IV 0)."""
    _, tpl = _tpl_of(plain)
    if tpl.mode != 2:
        raise FrameError(f"the CW field says security mode {tpl.mode}, not 2")
    head, blocks, rest = _split(plain, tpl)
    return head + meter_crypto.des_cbc_encrypt(key, bytes(8), blocks) + rest


def encrypt_mode7(plain: bytes, key: bytes, *, counter: int, mac_type: int = 5) -> bytes:
    """Encrypt a mode 7 plaintext frame and put an AFL with counter and MAC in front of it.

    ``mac_type`` is the AFL authentication type (3..7: CMAC truncated to 2..16 bytes).
    """
    telegram, tpl = _tpl_of(plain)
    if tpl.mode != 7 or tpl.cw_ext is None or (tpl.cw_ext >> 4) & 3 != 1:
        raise FrameError("the CW field must say security mode 7 with KDF-A")
    mac_len = MAC_LENGTHS.get(mac_type)
    if mac_len is None or mac_type == 8:
        raise FrameError(f"AFL authentication type {mac_type} is not an AES-CMAC type")
    mcr = counter.to_bytes(4, "little")
    tail = mcr + telegram.meter_raw[2:6] + b"\x07" * 7
    kenc, kmac = meter_crypto.aes_cmac_many(key, (b"\x00" + tail, b"\x01" + tail))
    head, blocks, rest = _split(plain, tpl)
    tpl_part = head[tpl.start :] + meter_crypto.aes_cbc_encrypt(kenc, bytes(16), blocks) + rest
    mcl = 0x20 | mac_type  # the message counter is part of the MAC input
    mac = meter_crypto.aes_cmac(kmac, bytes((mcl,)) + mcr + tpl_part)[:mac_len]
    fields = (0x2C00 | 0x0400).to_bytes(2, "little") + bytes((mcl,)) + mcr + mac
    afl = bytes((0x90, len(fields))) + fields
    return _with_length(head[1 : tpl.start] + afl + tpl_part)


def encrypt_ell_ctr(
    plain: bytes, key: bytes, *, session: int, cc: int = 0x20, acc: int = 0
) -> bytes:
    """Wrap a frame's application part in an encrypted ELL (CI 8D, AES-CTR).

    ``plain`` is a link header followed by the inner layers (e.g. a compact frame, CI 79);
    ``session`` is the 29-bit session number; the encryption bits of SN are set to 1.
    """
    if len(plain) < LINK_HEADER:
        raise FrameError("the plaintext frame has no link header")
    sn = ((session & 0x1FFFFFFF) | 1 << 29).to_bytes(4, "little")
    inner = plain[LINK_HEADER:]
    payload = crc16_en13757(inner).to_bytes(2, "little") + inner
    counter = plain[2:10] + bytes((cc & 0xED,)) + sn + b"\x00\x00\x00"
    body = plain[1:LINK_HEADER] + bytes((0x8D, cc, acc)) + sn
    return _with_length(body + meter_crypto.aes_ctr(key, counter, payload))


def _eui_bytes(eui: str) -> bytes:
    data = bytes.fromhex(eui)
    if len(data) != 8:
        raise FrameError(f"an EUI has 16 hex digits, got {len(eui)}")
    return data[::-1]


def encode_join_request(key: bytes, *, join_eui: str, dev_eui: str, dev_nonce: int) -> bytes:
    """A LoRaWAN join request under AppKey (1.0.x) or NwkKey (1.1); EUIs MSB first."""
    body = b"\x00" + _eui_bytes(join_eui) + _eui_bytes(dev_eui) + dev_nonce.to_bytes(2, "little")
    return body + meter_crypto.aes_cmac(key, body)[:4]


def encode_join_accept(
    key: bytes,
    *,
    join_nonce: int,
    net_id: int,
    dev_addr: int,
    dl_settings: int = 0,
    rx_delay: int = 1,
    cf_list: bytes = b"",
    request: bytes | None = None,
) -> bytes:
    """A LoRaWAN join accept as the join server sends it.

    With ``dl_settings`` bit 7 (OptNeg, LoRaWAN 1.1) the MIC is computed under JSIntKey over
    the fields of ``request`` (the join request it answers), which is then required.
    """
    if cf_list and len(cf_list) != 16:
        raise FrameError(f"a CFList has 16 bytes, got {len(cf_list)}")
    body = (
        join_nonce.to_bytes(3, "little")
        + net_id.to_bytes(3, "little")
        + dev_addr.to_bytes(4, "little")
        + bytes((dl_settings, rx_delay))
        + cf_list
    )
    if dl_settings & 0x80:
        if request is None or len(request) != 23:
            raise FrameError("a LoRaWAN 1.1 join accept needs the 23-byte join request")
        js_int_key = meter_crypto.aes_ecb_encrypt(key, b"\x06" + request[9:17] + bytes(7))
        message = b"\xff" + request[1:9] + request[17:19] + b"\x20" + body
        mic = meter_crypto.aes_cmac(js_int_key, message)[:4]
    else:
        mic = meter_crypto.aes_cmac(key, b"\x20" + body)[:4]
    # The server applies AES decrypt so that the device can use encrypt to recover it.
    return b"\x20" + meter_crypto.aes_ecb_decrypt(key, body + mic)
