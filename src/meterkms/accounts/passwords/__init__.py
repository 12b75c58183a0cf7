"""Password policy of meterkms: two profiles, a shipped blocklist and a similarity check.

Settings choose a profile and write::

    AUTH_PASSWORD_VALIDATORS = password_validators(profile)   # "manual" or "nist"

"manual" (the default, the product manual's rule): at least 12 characters with upper case,
lower case, digit and special character. "nist" (NIST SP 800-63B): at least 15 characters,
no composition rules. Both reject passwords from the shipped blocklist (and simple variants
of them) and passwords built from the user's name, e-mail address or organisation. See
docs/passwords.md for the rules, the blocklist's sources and how it is built.
"""

from __future__ import annotations

from typing import Any

from meterkms.accounts.passwords.blocklist import (
    Blocklist,
    BlocklistFileError,
    BlocklistValidator,
    candidate_forms,
    load_blocklist,
)
from meterkms.accounts.passwords.normalise import code_points, fold, nfkc
from meterkms.accounts.passwords.policy import (
    MANUAL_MIN_LENGTH,
    NIST_MIN_LENGTH,
    LengthPolicyValidator,
    ManualPolicyValidator,
    NistPolicyValidator,
)
from meterkms.accounts.passwords.similarity import AccountSimilarityValidator

__all__ = [
    "DEFAULT_PROFILE",
    "MANUAL_MIN_LENGTH",
    "NIST_MIN_LENGTH",
    "PROFILE_NAMES",
    "AccountSimilarityValidator",
    "Blocklist",
    "BlocklistFileError",
    "BlocklistValidator",
    "LengthPolicyValidator",
    "ManualPolicyValidator",
    "NistPolicyValidator",
    "PasswordProfileError",
    "candidate_forms",
    "code_points",
    "fold",
    "load_blocklist",
    "nfkc",
    "password_validators",
]

DEFAULT_PROFILE = "manual"

_HERE = __name__
_PROFILES: dict[str, list[dict[str, Any]]] = {
    "manual": [
        {
            "NAME": f"{_HERE}.ManualPolicyValidator",
            "OPTIONS": {"min_length": MANUAL_MIN_LENGTH},
        },
        {"NAME": f"{_HERE}.AccountSimilarityValidator"},
        {"NAME": f"{_HERE}.BlocklistValidator"},
    ],
    "nist": [
        {
            "NAME": f"{_HERE}.NistPolicyValidator",
            "OPTIONS": {"min_length": NIST_MIN_LENGTH},
        },
        {"NAME": f"{_HERE}.AccountSimilarityValidator"},
        {"NAME": f"{_HERE}.BlocklistValidator"},
    ],
}
PROFILE_NAMES = tuple(_PROFILES)


class PasswordProfileError(ValueError):
    """The configured password profile is not one meterkms knows."""


def password_validators(profile: str = DEFAULT_PROFILE) -> list[dict[str, Any]]:
    """Return the ``AUTH_PASSWORD_VALIDATORS`` list of a profile ("manual" or "nist").

    The name is matched without regard to case or surrounding spaces, so a value read
    from an environment variable works as typed. Each call returns fresh dictionaries:
    settings may add options without changing the profile for other callers.
    """
    key = profile.strip().lower()
    if key not in _PROFILES:
        known = ", ".join(repr(name) for name in PROFILE_NAMES)
        raise PasswordProfileError(f"unknown password profile {profile!r}: expected one of {known}")
    return [
        {name: dict(value) if isinstance(value, dict) else value for name, value in entry.items()}
        for entry in _PROFILES[key]
    ]
