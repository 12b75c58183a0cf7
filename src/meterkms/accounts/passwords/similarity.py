"""Reject passwords built from the user's own name, e-mail address or organisation.

The user is duck-typed: any object with some of the attributes ``name``, ``full_name``,
``first_name``, ``last_name``, ``username``, ``email``, ``organisation`` (or
``organization``) works; an organisation may be a string or an object with a ``name``.
A password is too similar when it is one of those values (or a part of one, such as the
e-mail's domain) with only digits and specials around it, or when difflib's similarity
ratio to such a value reaches ``max_similarity`` (0.7, as Django's own validator).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from difflib import SequenceMatcher

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy

from meterkms.accounts.passwords.normalise import fold, is_letter, strip_separators

DEFAULT_USER_ATTRIBUTES = (
    "name",
    "full_name",
    "first_name",
    "last_name",
    "username",
    "email",
    "organisation",
    "organization",
)

_LABELS: dict[str, Promise] = {
    "name": gettext_lazy("name"),
    "full_name": gettext_lazy("name"),
    "first_name": gettext_lazy("first name"),
    "last_name": gettext_lazy("last name"),
    "username": gettext_lazy("username"),
    "email": gettext_lazy("email address"),
    "organisation": gettext_lazy("organisation"),
    "organization": gettext_lazy("organisation"),
}

_WORD_BREAK = re.compile(r"[\W_]+")

# A password that is a personal value plus fewer letters than this is "the value with
# decorations" ("AliceMeyer2024!", "Stadtwerke-Basel#1").
_MIN_OWN_LETTERS = 3


def _value_text(value: object) -> str | None:
    """Return the text of an attribute value: strings as-is, objects by their ``name``."""
    if isinstance(value, str):
        return value
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else None


def personal_tokens(value: str, min_length: int) -> list[str]:
    """Return the folded forms of ``value`` worth comparing with a password.

    The whole value, the value without separators, each word of at least ``min_length``
    characters and, for e-mail addresses, the local part and the domain without its
    top-level label, each without separators.
    """
    folded = fold(value).strip()
    tokens = [folded, strip_separators(folded)]
    tokens.extend(_WORD_BREAK.split(folded))
    local, at, domain = folded.partition("@")
    if at:
        tokens.append(_WORD_BREAK.sub("", local))
        tokens.append(_WORD_BREAK.sub("", domain.rsplit(".", 1)[0]))
    return [token for token in dict.fromkeys(tokens) if len(token) >= min_length]


def _ratio_bound(first: str, second: str) -> float:
    """Upper bound of SequenceMatcher.ratio() from the lengths alone (2·min / sum)."""
    return 2 * min(len(first), len(second)) / (len(first) + len(second))


class AccountSimilarityValidator:
    """Reject passwords too similar to the user's name, e-mail address or organisation."""

    def __init__(
        self,
        user_attributes: Sequence[str] = DEFAULT_USER_ATTRIBUTES,
        max_similarity: float = 0.7,
        min_token_length: int = 3,
    ) -> None:
        """Configure which attributes are compared and how similar is too similar."""
        if not 0.1 <= max_similarity <= 1.0:
            raise ValueError(f"max_similarity must be between 0.1 and 1.0, got {max_similarity}")
        self.user_attributes = tuple(user_attributes)
        self.max_similarity = max_similarity
        self.min_token_length = min_token_length

    def _values(self, user: object) -> Iterator[tuple[str, str]]:
        """Yield (attribute, text) for every configured attribute the user has."""
        for attribute in self.user_attributes:
            value = getattr(user, attribute, None)
            if callable(value):
                value = value()
            text = _value_text(value)
            if text and text.strip():
                yield attribute, text

    def too_similar(self, password: str, token: str) -> bool:
        """True when the folded ``password`` is ``token`` decorated, or close to it."""
        compact = strip_separators(password)
        for candidate in (password, compact):
            if token in candidate:
                rest = candidate.replace(token, "")
                if sum(map(is_letter, rest)) < _MIN_OWN_LETTERS:
                    return True
            if _ratio_bound(candidate, token) < self.max_similarity:
                continue
            matcher = SequenceMatcher(a=candidate, b=token, autojunk=False)
            if (
                matcher.quick_ratio() >= self.max_similarity
                and matcher.ratio() >= self.max_similarity
            ):
                return True
        return False

    def validate(self, password: str, user: object | None = None) -> None:
        """Raise ``ValidationError`` when the password is too close to personal data."""
        if user is None:
            return
        folded = fold(password)
        for attribute, text in self._values(user):
            for token in personal_tokens(text, self.min_token_length):
                if self.too_similar(folded, token):
                    raise ValidationError(
                        gettext_lazy("The password is too similar to the %(verbose_name)s."),
                        code="password_too_similar",
                        params={"verbose_name": _LABELS.get(attribute, attribute)},
                    )

    def get_help_text(self) -> str:
        """Explain the rule to the user."""
        return gettext("Your password can’t be too similar to your other personal information.")
