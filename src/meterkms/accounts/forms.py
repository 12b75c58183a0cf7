"""Forms of the account pages (login, profile, password, API tokens) and of user admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from meterkms.accounts.models import CsvDelimiter, Language, ThousandsSeparator
from meterkms.organisations.permissions import Perm, Role, may_grant


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


def password_field(label: Any, autocomplete: str, *, autofocus: bool = False) -> forms.CharField:
    """A password input: never stripped, up to 1,024 characters (no silent truncation)."""
    attrs: dict[str, Any] = {"autocomplete": autocomplete}
    if autofocus:
        attrs["autofocus"] = True
    return forms.CharField(
        label=label, strip=False, max_length=1024, widget=forms.PasswordInput(attrs=attrs)
    )


class NewPasswordForm(forms.Form):
    """A new password and its confirmation, with the policy's help text."""

    new_password = password_field(_("New password"), "new-password")
    confirmation = password_field(_("Confirm new password"), "new-password")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "new_password"
        ].help_text = password_validation.password_validators_help_text_html()


class PasswordChangeForm(NewPasswordForm):
    """Current password, new password and its confirmation."""

    current_password = password_field(_("Current password"), "current-password")
    field_order = ["current_password", "new_password", "confirmation"]


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


def grantable_roles(actor: Any) -> list[tuple[str, str]]:
    """The roles ``actor`` may give, highest first, labelled in the current language."""
    granter = getattr(actor, "user", actor).role
    return [(role.value, role.label) for role in Role if may_grant(granter, role)]


class UserForm(forms.Form):
    """Add or edit a user ("Anwender hinzufügen" / "Anwender bearbeiten").

    Organisations are the actor's subtree and roles those the actor may grant; the services
    check both again. Editing has no password field (the password has its own page), and an
    administrator editing themselves cannot touch their own role or organisation.
    """

    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email"), max_length=254)
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=None)
    role = forms.ChoiceField(label=_("User role"))
    language = forms.ChoiceField(label=_("User language"), choices=Language.choices)
    csv_delimiter = forms.ChoiceField(label=_("CSV column delimiter"), choices=CsvDelimiter.choices)
    csv_thousands_separator = forms.ChoiceField(
        label=_("CSV thousands separator"), choices=ThousandsSeparator.choices, required=False
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(
        self,
        *args: Any,
        actor: Any,
        organisations: Any,
        editing: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations  # type: ignore[attr-defined]
        roles = grantable_roles(actor)
        if editing is not None and editing.role not in dict(roles):
            roles = [(editing.role, Role(editing.role).label), *roles]
        self.fields["role"].choices = roles  # type: ignore[attr-defined]
        if editing is not None:
            del self.fields["password"]
            if getattr(actor, "user", actor).pk == editing.pk:
                self.fields["role"].disabled = True
                self.fields["organisation"].disabled = True
        else:
            self.fields[
                "password"
            ].help_text = password_validation.password_validators_help_text_html()


class SetPasswordForm(NewPasswordForm):
    """An administrator sets another user's password (they change it at their next login)."""


def code_field(*, recovery: bool = True) -> forms.CharField:
    """A code of the authenticator app (or, where ``recovery``, one of the recovery codes)."""
    return forms.CharField(
        label=_("Code of your authenticator app"),
        help_text=_("Six digits, or one of your recovery codes.") if recovery else "",
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text" if recovery else "numeric",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )


class SecondFactorForm(forms.Form):
    """The second step of a login: a code of the app or a recovery code."""

    code = code_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs["autofocus"] = True


class ConfirmAppForm(forms.Form):
    """The first code of a newly set-up authenticator app."""

    code = code_field(recovery=False)
