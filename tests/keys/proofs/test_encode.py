"""Telegrams built by the encoder from realistic plaintexts prove their random keys."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.keys.proofs import (
    AddressSource,
    CheckKind,
    FrameError,
    Scheme,
    check_key,
    parse_capture,
    parse_frame,
)
from meterkms.keys.proofs.encode import (
    add_link_crcs,
    encode_join_accept,
    encode_join_request,
    encrypt_des_mode2,
    encrypt_ell_ctr,
    encrypt_mode5,
    encrypt_mode7,
    set_security,
)
from meterkms.vault import meter_crypto

from .vectors import AQUASTREAM_PLAIN, TOPAS_PLAIN

TOPAS = bytes.fromhex(TOPAS_PLAIN)
AQUASTREAM = bytes.fromhex(AQUASTREAM_PLAIN)
# Kamstrup-style compact frame behind the ELL (link header of the ELL vector, CI 79).
COMPACT = bytes.fromhex("00442D2C998734761B16") + bytes.fromhex(
    "79138C4491CE0000D3140000000000000000"
)

aes_keys = st.binary(min_size=16, max_size=16)
crcs = st.booleans()


def on_air(frame: bytes, with_crcs: bool) -> bytes:
    return add_link_crcs(frame) if with_crcs else frame


def kinds_passed(frame: bytes, key: bytes) -> list[tuple[CheckKind, bool]]:
    outcome = check_key(parse_frame(frame), key)
    return [(check.kind, check.passed) for check in outcome.checks]


@given(key=aes_keys, with_crcs=crcs)
@settings(max_examples=60, deadline=None)
def test_topas_mode5_round_trips(key, with_crcs):
    frame = on_air(encrypt_mode5(TOPAS, key), with_crcs)
    telegram = parse_frame(frame)
    assert telegram.scheme is Scheme.MODE5
    assert telegram.link_crcs is with_crcs
    assert str(telegram.address) == "AMT 78563412"
    assert telegram.iv_source is AddressSource.LINK
    assert telegram.tpl.blocks == 4
    assert check_key(telegram, key).proven


@given(key=aes_keys, with_crcs=crcs)
@settings(max_examples=60, deadline=None)
def test_aquastream_mode5_behind_a_module_uses_the_tpl_address(key, with_crcs):
    frame = on_air(encrypt_mode5(AQUASTREAM, key), with_crcs)
    telegram = parse_frame(frame)
    assert telegram.scheme is Scheme.MODE5
    assert telegram.iv_source is AddressSource.TPL
    assert str(telegram.address) == "IMT 05933237"
    assert str(telegram.link_address.device) == "IMT 10049257"
    assert [str(a) for a in telegram.lookup_addresses] == ["IMT 05933237", "IMT 10049257"]
    assert check_key(telegram, key).proven


def test_mode5_behind_a_module_of_another_maker_needs_the_tpl_address_in_the_iv():
    key = bytes(range(16))
    plain = AQUASTREAM[:2] + bytes.fromhex("9615") + AQUASTREAM[4:]  # module made by ELV
    telegram = parse_frame(encrypt_mode5(plain, key))
    assert str(telegram.link_address.device).startswith("ELV ")
    assert check_key(telegram, key).proven
    # The same payload encrypted with the module's address in the IV does not check out.
    acc = plain[19]
    head, blocks = plain[:23], plain[23:71]
    wrong = head + meter_crypto.aes_cbc_encrypt(key, plain[2:10] + bytes([acc]) * 8, blocks)
    assert not check_key(parse_frame(wrong), key).proven


@given(key=aes_keys, with_crcs=crcs, counter=st.integers(0, 2**32 - 1), mac_type=st.integers(3, 7))
@settings(max_examples=60, deadline=None)
def test_topas_mode7_with_afl_mac_round_trips(key, with_crcs, counter, mac_type):
    frame = on_air(
        encrypt_mode7(
            set_security(TOPAS, mode=7, blocks=4), key, counter=counter, mac_type=mac_type
        ),
        with_crcs,
    )
    telegram = parse_frame(frame)
    assert telegram.scheme is Scheme.MODE7
    assert len(telegram.afl.mac) == {3: 2, 4: 4, 5: 8, 6: 12, 7: 16}[mac_type]
    assert kinds_passed(frame, key) == [(CheckKind.MAC, True), (CheckKind.FILLER, True)]


@given(key=aes_keys)
@settings(max_examples=30, deadline=None)
def test_aquastream_mode7_derives_its_key_from_the_tpl_id(key):
    frame = encrypt_mode7(set_security(AQUASTREAM, mode=7, blocks=3), key, counter=7)
    telegram = parse_frame(frame)
    assert telegram.iv_source is AddressSource.TPL
    assert check_key(telegram, key).proven


@given(key=aes_keys)
@settings(max_examples=30, deadline=None)
def test_mode7_with_a_mac_and_no_encrypted_blocks_is_proven_by_the_mac_alone(key):
    frame = encrypt_mode7(set_security(TOPAS, mode=7, blocks=0), key, counter=1)
    assert kinds_passed(frame, key) == [(CheckKind.MAC, True)]


@given(
    key=st.sampled_from([8, 16, 24]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    with_crcs=crcs,
)
@settings(max_examples=60, deadline=None)
def test_topas_as_des_mode2_round_trips(key, with_crcs):
    frame = on_air(encrypt_des_mode2(set_security(TOPAS, mode=2, blocks=4), key), with_crcs)
    telegram = parse_frame(frame)
    assert telegram.scheme is Scheme.DES_MODE2
    assert check_key(telegram, key).proven


@given(key=aes_keys, with_crcs=crcs, session=st.integers(0, 2**29 - 1), cc=st.integers(0, 255))
@settings(max_examples=60, deadline=None)
def test_ell_ctr_round_trips(key, with_crcs, session, cc):
    frame = on_air(encrypt_ell_ctr(COMPACT, key, session=session, cc=cc), with_crcs)
    telegram = parse_frame(frame)
    assert telegram.scheme is Scheme.ELL_CTR
    assert str(telegram.address) == "KAM 76348799"
    assert kinds_passed(frame, key) == [(CheckKind.CRC, True)]


@given(
    key=aes_keys,
    join_eui=st.binary(min_size=8, max_size=8),
    dev_eui=st.binary(min_size=8, max_size=8),
    dev_nonce=st.integers(0, 0xFFFF),
    cf_list=st.sampled_from([b"", bytes(range(16))]),
    opt_neg=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_lorawan_join_request_and_accept_round_trip(
    key, join_eui, dev_eui, dev_nonce, cf_list, opt_neg
):
    request = encode_join_request(
        key, join_eui=join_eui.hex(), dev_eui=dev_eui.hex(), dev_nonce=dev_nonce
    )
    accept = encode_join_accept(
        key,
        join_nonce=0x123456,
        net_id=0x13,
        dev_addr=0x26012E43,
        dl_settings=0x80 if opt_neg else 0,
        cf_list=cf_list,
        request=request,
    )
    parsed = parse_capture([request.hex(), accept.hex()])
    assert not parsed.errors
    join_request, join_accept = parsed.telegrams
    assert join_request.scheme is Scheme.JOIN_REQUEST
    assert join_accept.scheme is Scheme.JOIN_ACCEPT
    assert join_request.address.identifier == dev_eui.hex().upper()
    assert join_accept.address == join_request.address
    assert join_request.join_eui == join_eui.hex().upper()
    assert check_key(join_request, key).proven
    assert check_key(join_accept, key).proven


def test_set_security_switches_in_and_out_of_mode7_and_fixes_the_l_field():
    mode7 = set_security(TOPAS, mode=7, blocks=4)
    assert mode7[0] == TOPAS[0] + 1
    assert parse_frame(mode7).tpl.cw_ext == 0x10
    back = set_security(mode7, mode=5, blocks=4)
    assert back == TOPAS


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: encrypt_mode5(set_security(TOPAS, mode=2, blocks=4), bytes(16)), "not 5"),
        (lambda: encrypt_des_mode2(TOPAS, bytes(8)), "not 2"),
        (lambda: encrypt_mode7(TOPAS, bytes(16), counter=1), "mode 7"),
        (
            lambda: encrypt_mode7(
                set_security(TOPAS, mode=7, blocks=4), bytes(16), counter=1, mac_type=8
            ),
            "CMAC",
        ),
        (lambda: encrypt_mode5(TOPAS[:20], bytes(16)), "bytes"),
        (lambda: encrypt_ell_ctr(TOPAS[:5], bytes(16), session=1), "link header"),
        (
            lambda: encode_join_request(bytes(16), join_eui="00", dev_eui="00" * 8, dev_nonce=1),
            "16 hex",
        ),
        (
            lambda: encode_join_accept(bytes(16), join_nonce=1, net_id=1, dev_addr=1, cf_list=b"x"),
            "CFList",
        ),
        (
            lambda: encode_join_accept(
                bytes(16), join_nonce=1, net_id=1, dev_addr=1, dl_settings=0x80
            ),
            "join request",
        ),
    ],
)
def test_encoder_rejects_what_it_cannot_build(call, message):
    with pytest.raises(FrameError, match=message):
        call()
