"""Forms of the email pages and the account emails."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from meterkms.accounts.forms import NewPasswordForm, password_field


class TemplateForm(forms.Form):
    """Name, subject and both bodies of an organisation's template."""

    name = forms.CharField(label=_("Name"), max_length=200)
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body_text = forms.CharField(
        label=_("Plain-text body"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "true", "class": "code"}),
    )
    body_html = forms.CharField(
        label=_("HTML body"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"}),
    )


class TestEmailForm(forms.Form):
    """Where a test email goes."""

    to = forms.EmailField(
        label=_("Recipient email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class ForgotPasswordForm(forms.Form):
    """The address of the account whose password is forgotten."""

    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )


class ResetPasswordForm(NewPasswordForm):
    """A new password and its confirmation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password"].widget.attrs["autofocus"] = True


class EmailChangeForm(forms.Form):
    """A new email address, confirmed with the current password."""

    new_email = forms.EmailField(
        label=_("New email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    current_password = password_field(_("Current password"), "current-password")
