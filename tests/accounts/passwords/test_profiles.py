"""password_validators(profile) gives settings the validator list of a profile."""

import pytest
from django.contrib.auth.password_validation import (
    get_password_validators,
    password_validators_help_texts,
)

from meterkms.accounts.passwords import (
    AccountSimilarityValidator,
    BlocklistValidator,
    ManualPolicyValidator,
    NistPolicyValidator,
    PasswordProfileError,
    password_validators,
)
from tests.accounts.passwords.helpers import profile_codes


@pytest.mark.parametrize(
    ("profile", "policy", "min_length"),
    [("manual", ManualPolicyValidator, 12), ("nist", NistPolicyValidator, 15)],
)
def test_profile_builds_its_policy_with_similarity_and_blocklist(profile, policy, min_length):
    validators = get_password_validators(password_validators(profile))
    assert [type(validator) for validator in validators] == [
        policy,
        AccountSimilarityValidator,
        BlocklistValidator,
    ]
    assert validators[0].min_length == min_length


def test_default_profile_is_the_manual_rule():
    assert password_validators() == password_validators("manual")


@pytest.mark.parametrize("spelling", ["NIST", " nist ", "Nist"])
def test_profile_names_ignore_case_and_surrounding_spaces(spelling):
    assert password_validators(spelling) == password_validators("nist")


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(PasswordProfileError, match=r"'strict'.*'manual', 'nist'"):
        password_validators("strict")


def test_each_call_returns_fresh_dictionaries():
    first = password_validators("manual")
    first[0]["OPTIONS"]["min_length"] = 99
    assert password_validators("manual")[0]["OPTIONS"]["min_length"] == 12


def test_help_texts_of_both_profiles_render(profile):
    texts = password_validators_help_texts(get_password_validators(password_validators(profile)))
    assert len(texts) == 3
    assert all(isinstance(text, str) and text for text in texts)


@pytest.mark.parametrize(
    ("password", "manual", "nist"),
    [
        ("Kq7#vLm2pXw9", set(), {"password_too_short"}),
        ("kq7vlm2pxw9zrt5", {"password_no_upper", "password_no_special"}, set()),
        ("Blue tractors hum 7 songs!", set(), set()),
    ],
)
def test_profiles_differ_only_in_length_and_classes(password, manual, nist):
    assert profile_codes(password, "manual") == manual
    assert profile_codes(password, "nist") == nist
