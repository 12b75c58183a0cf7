"""Passwords built from the user's name, e-mail address or organisation are rejected."""

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkms.accounts.passwords import AccountSimilarityValidator
from meterkms.accounts.passwords.similarity import personal_tokens
from tests.accounts.passwords.helpers import error_codes, error_messages, profile_codes

ALICE = SimpleNamespace(
    name="Alice Meyer",
    email="alice.meyer@stadtwerke-basel.ch",
    organisation=SimpleNamespace(name="Stadtwerke Basel"),
)


def similarity_codes(password, user=ALICE, **options):
    """Codes the similarity validator raises for ``password`` and ``user``."""
    validator = AccountSimilarityValidator(**options)
    return error_codes(lambda: validator.validate(password, user))


@pytest.mark.parametrize(
    "password",
    [
        "AliceMeyer2024!",
        "Alice.Meyer@Stadtwerke",
        "alice.meyer@stadtwerke-basel.ch",
        "Stadtwerke-Basel#1",
        "StadtwerkeBasel2024!",
        "Meyer!!2024Meyer",
        "Al1ce-Meyer!",
    ],
)
def test_passwords_made_of_personal_data_are_rejected(password):
    assert similarity_codes(password) == {"password_too_similar"}


@pytest.mark.parametrize(
    "password",
    [
        "Kq7#vLm2pXw9",
        "Basel is lovely in spring, 7 swans!",
        "Alice walks her dog at dawn #42",
    ],
)
def test_passwords_with_a_personal_word_among_others_are_accepted(password):
    assert similarity_codes(password) == set()


def test_without_a_user_nothing_is_compared():
    assert similarity_codes("AliceMeyer2024!", user=None) == set()


def test_users_without_the_attributes_are_accepted():
    assert similarity_codes("AliceMeyer2024!", user=object()) == set()


def test_organisation_may_be_a_string_and_spelled_organization():
    assert similarity_codes("Integra2024!!", user=SimpleNamespace(organisation="Integra")) == {
        "password_too_similar"
    }
    assert similarity_codes("Integra2024!!", user=SimpleNamespace(organization="Integra")) == {
        "password_too_similar"
    }


def test_callable_attributes_are_called():
    user = SimpleNamespace(get_full_name=lambda: "Demo Integra")
    assert similarity_codes("DemoIntegra1!", user, user_attributes=["get_full_name"]) == {
        "password_too_similar"
    }


def test_message_names_the_attribute_and_not_the_password():
    validator = AccountSimilarityValidator()
    messages = error_messages(lambda: validator.validate("StadtwerkeBasel2024!", ALICE))
    assert messages == ["The password is too similar to the email address."]


def test_email_tokens_include_local_part_and_domain_without_top_level_label():
    tokens = personal_tokens("Alice.Meyer@Stadtwerke-Basel.ch", min_length=3)
    assert "alicemeyer" in tokens
    assert "stadtwerkebasel" in tokens
    assert "ch" not in tokens


@given(
    name=st.text(alphabet=st.characters(categories=["Ll", "Lu"]), min_size=3, max_size=12),
    decoration=st.text(alphabet="0123456789!?#@$%&*-_. ", max_size=8),
)
def test_a_name_with_only_digits_and_specials_around_it_is_rejected(name, decoration):
    user = SimpleNamespace(name=name)
    assert similarity_codes(name + decoration, user) == {"password_too_similar"}
    assert similarity_codes(decoration + name, user) == {"password_too_similar"}


def test_long_passphrases_are_compared_quickly_and_accepted():
    passphrase = "many different words about weather and trains " * 20
    assert similarity_codes(passphrase) == set()


def test_similarity_runs_in_both_profiles(profile):
    assert "password_too_similar" in profile_codes("StadtwerkeBasel2024!", profile, ALICE)


@pytest.mark.parametrize("bad", [0.0, 1.5])
def test_max_similarity_outside_its_range_is_refused(bad):
    with pytest.raises(ValueError, match="max_similarity"):
        AccountSimilarityValidator(max_similarity=bad)
