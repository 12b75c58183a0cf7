"""Unicode normalisation of passwords: what the rules count and what the blocklist compares.

Length and character classes are judged on the NFKC form, so a password counts the same
however it was typed or pasted (full-width letters, ligatures, composed or decomposed
accents). Blocklist and similarity checks compare the NFKC form case-folded, so "PASSWORD",
"Password" and "ＰＡＳＳＷＯＲＤ" are one entry. Nothing here shortens or truncates a password:
the stored hash is always computed from exactly what the user typed.
"""

from __future__ import annotations

import unicodedata

# Characters treated as word separators when a variant "without separators" is looked up:
# "Correct-Horse Battery_Staple" is the listed "correcthorsebatterystaple".
SEPARATORS = frozenset(" \t-_.,;:/\\|+~")

# Common leetspeak read back as letters. "1" is read as both "i" and "l" (two variants).
_DELEET_I = str.maketrans("0134578@$!|€+", "oieastbasiiet")
_DELEET_L = str.maketrans("0134578@$!|€+", "oleastbasilet")


def nfkc(password: str) -> str:
    """Return the NFKC form of ``password``: the text the length and class rules judge."""
    return unicodedata.normalize("NFKC", password)


def code_points(password: str) -> int:
    """Return the length of ``password`` in code points after NFKC normalisation."""
    return len(nfkc(password))


def fold(text: str) -> str:
    """Return the comparison key of ``text``: NFKC, case-folded, NFKC again.

    Case folding can produce text that is no longer NFKC (e.g. some Greek and Cherokee
    letters), hence the second pass; the result is stable: ``fold(fold(x)) == fold(x)``.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def is_letter(char: str) -> bool:
    """True when ``char`` is a Unicode letter (categories L*)."""
    return unicodedata.category(char).startswith("L")


def strip_separators(text: str) -> str:
    """Return ``text`` without the word separators of :data:`SEPARATORS`."""
    return "".join(char for char in text if char not in SEPARATORS)


def strip_affixes(text: str, *, leading: bool, trailing: bool) -> str:
    """Remove a leading and/or trailing run of non-letters (digits, specials, spaces).

    "summer2025!!" becomes "summer" and "123password!" becomes "password": the shape of
    the mutations attackers apply first to every word of their lists.
    """
    start, end = 0, len(text)
    if leading:
        while start < end and not is_letter(text[start]):
            start += 1
    if trailing:
        while end > start and not is_letter(text[end - 1]):
            end -= 1
    return text[start:end]


def deleet(text: str) -> tuple[str, str]:
    """Return ``text`` with common leetspeak read back as letters ("1" as "i", then as "l")."""
    return text.translate(_DELEET_I), text.translate(_DELEET_L)
