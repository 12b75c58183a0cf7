"""Strict parsing of keys from text: accepted spellings, exact lengths, safe messages."""

from __future__ import annotations

import base64
import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.vault.algorithms import KEY_LENGTHS, Algorithm
from meterkms.vault.errors import KeyMaterialError
from meterkms.vault.keymaterial import KeyEncoding, format_key_hex, parse_key

KEY = bytes.fromhex("A004EB23329A477F1DD2D7820B56EB3D")


@pytest.mark.parametrize(
    "text",
    [
        "A004EB23329A477F1DD2D7820B56EB3D",
        "a004eb23329a477f1dd2d7820b56eb3d",
        "0xA004EB23329A477F1DD2D7820B56EB3D",
        "0Xa004eb23329a477f1dd2d7820b56eb3d",
        "  A004EB23329A477F1DD2D7820B56EB3D\n",
        "A0 04 EB 23 32 9A 47 7F 1D D2 D7 82 0B 56 EB 3D",
        "A0:04:EB:23:32:9A:47:7F:1D:D2:D7:82:0B:56:EB:3D",
        "A004EB23-329A477F-1DD2D782-0B56EB3D",
        "A004\tEB23  329A 477F 1DD2 D782 0B56 EB3D",
        "a004EB23329a477F1dd2D7820b56EB3d",
    ],
)
def test_accepted_hex_spellings_give_the_same_key(text: str):
    assert parse_key(text, Algorithm.AES128) == KEY


spellings = st.tuples(
    st.sampled_from(sorted(Algorithm)).flatmap(
        lambda alg: st.tuples(
            st.just(alg),
            st.sampled_from(KEY_LENGTHS[alg]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
        )
    ),
    st.sampled_from(["", " ", ":", "-", "  ", "\t"]),
    st.booleans(),
    st.booleans(),
)


@given(spellings)
def test_any_separator_case_and_prefix_round_trips(spelling):
    (algorithm, key), separator, upper, prefixed = spelling
    digits = key.hex().upper() if upper else key.hex()
    text = separator.join(digits[i : i + 2] for i in range(0, len(digits), 2))
    assert parse_key(("0x" if prefixed else "") + text, algorithm) == key


def test_meter_id_pasted_before_the_key_is_refused_with_both_lengths():
    with pytest.raises(KeyMaterialError) as caught:
        parse_key("61070071" + KEY.hex(), Algorithm.AES128)
    assert str(caught.value) == "expected 32 hex digits (16 bytes) for AES128, got 40"


def test_3des_message_names_both_allowed_lengths():
    with pytest.raises(
        KeyMaterialError,
        match=re.escape("expected 32 or 48 hex digits (16 or 24 bytes) for 3DES, got 40"),
    ):
        parse_key("00" * 20, Algorithm.TDES)


def test_odd_number_of_digits_is_refused():
    with pytest.raises(KeyMaterialError, match="got 31"):
        parse_key(KEY.hex()[:-1], Algorithm.AES128)


def test_letter_o_instead_of_zero_is_named_with_its_position():
    with pytest.raises(KeyMaterialError, match=re.escape("character 2 ('O') is not a hex digit")):
        parse_key("AO04EB23329A477F1DD2D7820B56EB3D", Algorithm.AES128)


def test_position_counts_leading_whitespace_and_prefix():
    with pytest.raises(KeyMaterialError, match="character 6 "):
        parse_key("  0xAG04EB23329A477F1DD2D7820B56EB3D", Algorithm.AES128)


def test_unprintable_character_is_located_but_not_shown():
    with pytest.raises(KeyMaterialError) as caught:
        parse_key("A0\x0704EB23329A477F1DD2D7820B56EB3D", Algorithm.AES128)
    assert str(caught.value).startswith("character 3 is not a hex digit")


@pytest.mark.parametrize(
    "text", ["A0 0 4EB23329A477F1DD2D7820B56EB3D", "A004EB2-3329A477F1DD2D7820B56EB3D"]
)
def test_separator_inside_a_byte_is_refused(text: str):
    with pytest.raises(KeyMaterialError, match="splits a byte"):
        parse_key(text, Algorithm.AES128)


@pytest.mark.parametrize("text", [":" + KEY.hex(), KEY.hex() + "-"])
def test_leading_or_trailing_separator_is_refused(text: str):
    with pytest.raises(KeyMaterialError, match="starts or ends with a separator"):
        parse_key(text, Algorithm.AES128)


@pytest.mark.parametrize("text", ["", "   ", "0x", "\n"])
def test_empty_key_is_refused(text: str):
    with pytest.raises(KeyMaterialError, match="empty"):
        parse_key(text, Algorithm.AES128)


def test_non_text_is_refused():
    with pytest.raises(KeyMaterialError, match="as text"):
        parse_key(KEY, Algorithm.AES128)  # type: ignore[arg-type]


@given(st.binary(min_size=17, max_size=40))
def test_length_errors_never_repeat_the_key(key: bytes):
    with pytest.raises(KeyMaterialError) as caught:
        parse_key(key.hex(), Algorithm.AES128)
    message = str(caught.value).lower()
    digits = key.hex()
    assert not any(digits[i : i + 8] in message for i in range(len(digits) - 7))


def test_base64_key_is_accepted_where_asked_for():
    text = base64.b64encode(KEY).decode()
    assert parse_key(f" {text}\n", Algorithm.AES128, encoding=KeyEncoding.BASE64) == KEY


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (base64.b64encode(KEY).decode().rstrip("="), "not valid base64"),
        (base64.urlsafe_b64encode(b"\xfb\xff" * 8).decode(), "not valid base64"),
        (base64.b64encode(os.urandom(15)).decode(), "got 15 bytes"),
        ("", "empty"),
    ],
)
def test_bad_base64_keys_are_refused(text: str, problem: str):
    with pytest.raises(KeyMaterialError, match=problem):
        parse_key(text, Algorithm.AES128, encoding=KeyEncoding.BASE64)


def test_hex_is_not_taken_as_base64_or_the_other_way_round():
    with pytest.raises(KeyMaterialError):
        parse_key(base64.b64encode(KEY).decode(), Algorithm.AES128)
    with pytest.raises(KeyMaterialError):
        parse_key(KEY.hex(), Algorithm.AES128, encoding=KeyEncoding.BASE64)


def test_export_form_is_upper_case_hex():
    assert format_key_hex(KEY) == "A004EB23329A477F1DD2D7820B56EB3D"


@settings(max_examples=2000)
@given(st.text(max_size=80), st.sampled_from(sorted(Algorithm)), st.sampled_from(list(KeyEncoding)))
def test_parser_never_fails_with_anything_but_a_key_material_error(text, algorithm, encoding):
    try:
        key = parse_key(text, algorithm, encoding=encoding)
    except KeyMaterialError:
        return
    assert len(key) in KEY_LENGTHS[algorithm]
