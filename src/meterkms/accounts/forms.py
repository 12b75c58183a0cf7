"""Forms of the account pages: login, profile, password change, API tokens."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from meterkms.accounts.models import CsvDelimiter, Language, ThousandsSeparator
from meterkms.organisations.permissions import Perm


class LoginForm(forms.Form):
    """Email and password."""

    username = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ProfileForm(forms.Form):
    """The fields a user changes on their own profile."""

    name = forms.CharField(label=_("Name"), max_length=200)
    language = forms.ChoiceField(label=_("User language"), choices=Language.choices)
    csv_delimiter = forms.ChoiceField(label=_("CSV column delimiter"), choices=CsvDelimiter.choices)
    csv_thousands_separator = forms.ChoiceField(
        label=_("CSV thousands separator"), choices=ThousandsSeparator.choices, required=False
    )


class PasswordChangeForm(forms.Form):
    """Current password, new password and its confirmation."""

    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    confirmation = forms.CharField(
        label=_("Confirm new password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "new_password"
        ].help_text = password_validation.password_validators_help_text_html()


class TokenForm(forms.Form):
    """A new API token: name, permissions (a subset of the user's) and optional expiry."""

    name = forms.CharField(label=_("Name"), max_length=100)
    scopes = forms.MultipleChoiceField(
        label=_("Permissions"), widget=forms.CheckboxSelectMultiple, required=True
    )
    expires_at = forms.DateTimeField(
        label=_("Expires"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, granted: frozenset[Perm], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(perm.value, perm.value) for perm in sorted(granted)]
        self.fields["scopes"].choices = choices  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial["scopes"] = [value for value, _label in choices]
