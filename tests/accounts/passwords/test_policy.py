"""Length and character-class rules of the "manual" and "nist" profiles."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkms.accounts.passwords import (
    ManualPolicyValidator,
    NistPolicyValidator,
    code_points,
)
from tests.accounts.passwords.helpers import error_codes, error_messages, profile_codes


def manual_codes(password: str) -> set[str]:
    """Codes the manual profile's length and class validator raises."""
    return error_codes(lambda: ManualPolicyValidator().validate(password))


def nist_codes(password: str) -> set[str]:
    """Codes the NIST profile's length validator raises."""
    return error_codes(lambda: NistPolicyValidator().validate(password))


def test_manual_accepts_twelve_characters_with_all_four_classes():
    assert manual_codes("Kq7#vLm2pXw9") == set()


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("kq7#vlm2pxw9", "password_no_upper"),
        ("KQ7#VLM2PXW9", "password_no_lower"),
        ("Kqz#vLmapXwb", "password_no_digit"),
        ("Kq7kvLm2pXw9", "password_no_special"),
    ],
)
def test_manual_reports_the_one_missing_class(password, code):
    assert manual_codes(password) == {code}


def test_manual_reports_every_missing_class_and_the_length_at_once():
    assert manual_codes("abc") == {
        "password_too_short",
        "password_no_upper",
        "password_no_digit",
        "password_no_special",
    }


def test_manual_rejects_eleven_characters_and_accepts_twelve():
    assert manual_codes("Kq7#vLm2pXw") == {"password_too_short"}
    assert manual_codes("Kq7#vLm2pXwZ") == set()


def test_nist_has_no_class_rules_and_needs_fifteen_characters():
    assert nist_codes("a" * 14) == {"password_too_short"}
    assert nist_codes("a" * 15) == set()
    assert nist_codes("ä" * 15) == set()


@given(st.text(max_size=40))
def test_manual_errors_follow_the_length_and_classes_of_the_nfkc_form(password):
    normalised = unicodedata.normalize("NFKC", password)
    categories = {unicodedata.category(char) for char in normalised}
    expected = set()
    if len(normalised) < 12:
        expected.add("password_too_short")
    for wanted, code in (
        ({"Lu", "Lt"}, "password_no_upper"),
        ({"Ll"}, "password_no_lower"),
        ({"Nd"}, "password_no_digit"),
        (
            {"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs"},
            "password_no_special",
        ),
    ):
        if not categories & wanted:
            expected.add(code)
    assert manual_codes(password) == expected


@given(st.text(max_size=40))
def test_nist_rejects_exactly_the_passwords_shorter_than_fifteen_code_points(password):
    too_short = len(unicodedata.normalize("NFKC", password)) < 15
    assert nist_codes(password) == ({"password_too_short"} if too_short else set())


def test_length_counts_code_points_after_nfkc():
    ligature = "Aﬃ1!bcdefgh"  # 11 code points typed, "ﬃ" becomes "ffi": 13 after NFKC
    assert len(ligature) == 11
    assert code_points(ligature) == 13
    assert manual_codes(ligature) == set()


def test_combining_accents_that_compose_count_once():
    decomposed = "Ab1!" + "e\u0301" * 4  # 12 code points typed, 8 after NFKC ("é" × 4)
    assert len(decomposed) == 12
    assert code_points(decomposed) == 8
    assert manual_codes(decomposed) == {"password_too_short"}


def test_full_width_characters_count_as_their_ascii_classes():
    assert manual_codes("Ｋｑ７＃ｖＬｍ２ｐＸｗ９") == set()


def test_classes_are_judged_with_unicode_categories():
    assert manual_codes("Äöüß٣€äöüßÖ") == {"password_too_short"}  # 11: classes all present
    assert manual_codes("Äöüß٣€äöüßÖx") == set()


def test_a_space_is_a_special_character():
    assert manual_codes("Correct horse 7") == set()


def test_caseless_script_letters_need_latin_case_in_the_manual_profile():
    assert manual_codes("密码密码密码密码1!" + "ab") == {"password_no_upper"}
    assert nist_codes("密码是我们的小秘密不要告诉别人") == set()


def test_class_characters_after_position_128_still_count():
    password = "a" * 130 + "B7!"
    assert manual_codes(password) == set()


def test_upper_bound_rejects_instead_of_truncating():
    at_limit = "Kq7#" + "x" * 1020
    assert manual_codes(at_limit) == set()
    assert manual_codes(at_limit + "y") == {"password_too_long"}
    assert nist_codes("y" * 1025) == {"password_too_long"}


@pytest.mark.parametrize("length", [64, 128])
def test_long_unicode_passphrases_with_spaces_are_accepted_by_both_profiles(profile, length):
    words = "Grüße aus Zürich: 7 Kühe tanzen Tango auf dem Dach, während Åsa Café trinkt "
    passphrase = (words * 3)[:length]
    assert code_points(passphrase) == length
    assert " " in passphrase
    assert profile_codes(passphrase, profile) == set()


def test_messages_name_the_limit_and_never_the_password():
    password = "abc"
    messages = error_messages(lambda: ManualPolicyValidator().validate(password))
    assert any("12 characters" in message for message in messages)
    assert all(password not in message for message in messages)


def test_help_texts_state_the_minimum_of_each_profile():
    assert "12 characters" in ManualPolicyValidator().get_help_text()
    assert "15 characters" in NistPolicyValidator().get_help_text()
    assert "20 characters" in NistPolicyValidator(min_length=20).get_help_text()


@pytest.mark.parametrize(("min_length", "max_length"), [(0, 10), (20, 10)])
def test_impossible_length_bounds_are_refused(min_length, max_length):
    with pytest.raises(ValueError, match="min_length"):
        ManualPolicyValidator(min_length=min_length, max_length=max_length)
