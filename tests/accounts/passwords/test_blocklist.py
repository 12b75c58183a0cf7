"""The blocklist structure, its file format, the variants looked up and the validator."""

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkms.accounts.passwords import (
    Blocklist,
    BlocklistFileError,
    BlocklistValidator,
    candidate_forms,
    fold,
    load_blocklist,
)
from meterkms.accounts.passwords.blocklist import MAGIC, encode_body, parse_blocklist
from tests.accounts.passwords.helpers import error_codes, error_messages

WORDS = ["password", "summer", "welcome", "correcthorsebatterystaple", "grüße", "ünïcödé"]


def write_list(path, entries, magic=MAGIC):
    """Write a gzip blocklist file with the given entries and return its path."""
    content = f"{magic}\n## entries: {len(entries)}\n\n".encode() + encode_body(entries)
    path.write_bytes(gzip.compress(content))
    return path


@pytest.fixture
def small_list(tmp_path):
    return write_list(tmp_path / "list.txt.gz", WORDS)


def test_membership_is_exact_on_folded_entries():
    blocklist = Blocklist.from_entries(["Password", "SUMMER2025!", "Grüße"])
    assert "password" in blocklist
    assert "summer2025!" in blocklist
    assert fold("GRÜSSE") in blocklist
    assert "passwor" not in blocklist
    assert "password1" not in blocklist
    assert "" not in blocklist
    assert None not in blocklist


def test_entries_are_folded_deduplicated_and_sorted_by_bytes():
    blocklist = Blocklist.from_entries(["b", "B", "a", "ä", "Z", "a"])
    entries = list(blocklist)
    assert entries == sorted(entries, key=lambda entry: entry.encode())
    assert entries == ["a", "b", "z", "ä"]
    assert len(blocklist) == 4


def test_entries_with_line_breaks_or_controls_are_dropped():
    blocklist = Blocklist.from_entries(["good one", "bad\nentry", "tab\there", "  ", ""])
    assert list(blocklist) == ["good one"]


@given(
    st.sets(st.text(min_size=1, max_size=6), max_size=60),
    st.lists(st.text(min_size=1, max_size=6), max_size=30),
)
def test_binary_search_agrees_with_a_set(entries, probes):
    blocklist = Blocklist.from_entries(entries)
    stored = set(blocklist)
    assert len(stored) == len(blocklist)
    for probe in [*probes, *stored]:
        assert (probe in blocklist) == (probe in stored)


def test_empty_list_holds_nothing():
    blocklist = Blocklist(b"")
    assert len(blocklist) == 0
    assert "password" not in blocklist


def test_body_must_end_with_a_newline():
    with pytest.raises(BlocklistFileError, match="newline"):
        Blocklist(b"password")


def test_file_without_the_magic_line_is_refused(tmp_path):
    path = write_list(tmp_path / "other.txt.gz", WORDS, magic="# some other list")
    validator = BlocklistValidator(path=str(path))
    with pytest.raises(BlocklistFileError, match="not a meterkms password blocklist"):
        validator.validate("anything at all")


def test_header_metadata_is_parsed():
    parsed = parse_blocklist(f"{MAGIC}\n# note: free text\n## entries: 2\n\na\nb\n".encode())
    assert parsed.meta == {"entries": "2"}
    assert list(parsed) == ["a", "b"]


def test_missing_file_fails_on_first_use_not_on_construction(tmp_path):
    validator = BlocklistValidator(path=str(tmp_path / "missing.txt.gz"))
    with pytest.raises(BlocklistFileError, match="cannot read password blocklist"):
        validator.validate("anything at all")


def test_a_list_is_loaded_once_and_shared(small_list):
    assert load_blocklist(small_list) is load_blocklist(str(small_list))
    assert load_blocklist() is load_blocklist()


@pytest.mark.parametrize(
    ("password", "variant"),
    [
        ("Summer2025!!", "summer"),
        ("123Password!", "password"),
        ("!!Welcome2024", "welcome"),
        ("P@ssw0rd", "password"),
        ("P4ssw0rd2024!", "password"),
        ("Correct-Horse_Battery Staple", "correcthorsebatterystaple"),
        ("  password  ", "password"),
        ("GRÜSSE 2024!", "grüsse"),
    ],
)
def test_variants_include_what_attackers_derive_from_listed_words(password, variant):
    assert variant in candidate_forms(password)


def test_first_form_is_the_folded_password():
    assert candidate_forms("PassWord123!")[0] == "password123!"


def test_short_stems_are_not_looked_up_alone():
    forms = candidate_forms("Ab!#9283746501")
    assert "ab" not in forms
    assert forms[0] == "ab!#9283746501"


@given(st.text(max_size=30))
def test_variants_are_never_empty_and_start_with_the_folded_password(password):
    forms = candidate_forms(password)
    assert all(forms)
    assert len(forms) == len(set(forms))
    if fold(password):
        assert forms[0] == fold(password)


def test_validator_rejects_listed_password_with_too_common(small_list):
    validator = BlocklistValidator(path=str(small_list))
    assert error_codes(lambda: validator.validate("PASSWORD")) == {"password_too_common"}


@pytest.mark.parametrize("password", ["Summer2025!!", "W3lc0me#2024", "Grüße-1234!"])
def test_validator_rejects_variants_of_listed_words(small_list, password):
    validator = BlocklistValidator(path=str(small_list))
    assert error_codes(lambda: validator.validate(password)) == {"password_common_variant"}


@pytest.mark.parametrize("password", ["Kq7#vLm2pXw9", "summertime sadness 7", "ab!1234567890"])
def test_validator_accepts_unlisted_passwords(small_list, password):
    validator = BlocklistValidator(path=str(small_list))
    assert error_codes(lambda: validator.validate(password)) == set()


def test_validator_messages_never_contain_the_password(small_list):
    validator = BlocklistValidator(path=str(small_list))
    for password in ("Welcome", "Summer2025!!"):
        messages = error_messages(lambda password=password: validator.validate(password))
        assert messages
        assert all(password.lower() not in message.lower() for message in messages)


def test_help_text_explains_the_variants():
    assert "commonly used" in BlocklistValidator().get_help_text()
