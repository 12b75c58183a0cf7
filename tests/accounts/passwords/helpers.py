"""Helpers shared by the password policy tests."""

from collections.abc import Callable

from django.contrib.auth.password_validation import get_password_validators, validate_password
from django.core.exceptions import ValidationError

from meterkms.accounts.passwords import password_validators


def error_codes(check: Callable[[], None]) -> set[str]:
    """Run ``check`` and return the codes of the ValidationErrors it raised (empty if none)."""
    try:
        check()
    except ValidationError as error:
        return {item.code for item in error.error_list}
    return set()


def error_messages(check: Callable[[], None]) -> list[str]:
    """Run ``check`` and return the rendered messages of the ValidationErrors it raised."""
    try:
        check()
    except ValidationError as error:
        return list(error.messages)
    return []


def profile_codes(password: str, profile: str, user: object | None = None) -> set[str]:
    """Codes raised by Django's validate_password with the validators of ``profile``."""
    validators = get_password_validators(password_validators(profile))
    return error_codes(lambda: validate_password(password, user, validators))
