"""The download form: format, protection and the secret that protects the file."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from meterkms.keys.downloads.options import (
    FORMAT_LABELS,
    FORMATS,
    MAX_PUBLIC_KEY_BYTES,
    PROTECTION_LABELS,
    DownloadOptions,
    Secret,
)
from meterkms.keys.exports.protection import DEFAULT_PROTECTION, Protection


class DownloadForm(forms.Form):
    """What the user chooses before keys leave (manual: "Verschlüsselungsmethoden")."""

    format = forms.ChoiceField(
        label=_("Format"),
        choices=[(name, FORMAT_LABELS[name]) for name in FORMATS],
        initial="csv",
    )
    protection = forms.ChoiceField(
        label=_("Protection"),
        choices=list(PROTECTION_LABELS.items()),
        initial=DEFAULT_PROTECTION.value,
        widget=forms.RadioSelect,
    )
    password = forms.CharField(
        label=_("Password for the file"),
        required=False,
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters. Send it to the recipient by another channel."),
    )
    password_again = forms.CharField(
        label=_("Password again"),
        required=False,
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    recipient_public_key = forms.FileField(
        label=_("Recipient public key (PEM)"),
        required=False,
        help_text=_("An RSA public key or certificate of 2048 bits or more."),
    )
    background = forms.BooleanField(
        label=_("Prepare in the background and put it in my download list"),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        """The two passwords agree; the public key file is not oversized."""
        data = super().clean()
        protection = Protection(data.get("protection") or DEFAULT_PROTECTION)
        needs_password = protection == Protection.PASSWORD or protection.weak
        if needs_password and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        upload = data.get("recipient_public_key")
        if upload is not None and upload.size > MAX_PUBLIC_KEY_BYTES:
            self.add_error("recipient_public_key", _("The public key file is too large."))
        return data

    def options(self, user: Any) -> DownloadOptions:
        """The chosen options, with the user's CSV preferences."""
        return DownloadOptions(
            format=self.cleaned_data["format"],
            protection=Protection(self.cleaned_data["protection"]),
            delimiter=user.csv_delimiter or ";",
            thousands=user.csv_thousands_separator or "",
        )

    def secret(self) -> Secret:
        """The password or the recipient key, whichever the protection needs."""
        protection = Protection(self.cleaned_data["protection"])
        if protection == Protection.RECIPIENT:
            upload = self.cleaned_data.get("recipient_public_key")
            return Secret(recipient_public_key=upload.read() if upload is not None else None)
        if protection == Protection.NONE:
            return Secret()
        return Secret(password=self.cleaned_data.get("password") or None)
