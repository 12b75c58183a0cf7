"""Forms of the admin pages for organisations, partners and invitations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from meterkms.accounts.forms import grantable_roles, password_field
from meterkms.accounts.models import Language


class OrganisationForm(forms.Form):
    """Add or edit an organisation: name, parent, customer reference, may-create flag."""

    name = forms.CharField(label=_("Name"), max_length=200)
    parent = forms.ModelChoiceField(label=_("Parent organisation"), queryset=None)
    customer_reference = forms.CharField(label=_("Your reference"), max_length=200, required=False)
    may_create_organisations = forms.BooleanField(
        label=_("May create other organisations"), required=False
    )

    def __init__(self, *args: Any, parents: Any, own: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]
        if own:
            # The actor's own organisation: its place and its rights are not theirs to change
            # (and its parent lies outside what they may see).
            del self.fields["parent"]
            self.fields["may_create_organisations"].disabled = True


class PartnerForm(forms.Form):
    """ "Partner hinzufügen": the pasted ID of the other organisation."""

    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=None)
    partner_id = forms.CharField(
        label=_("ID of the partner organisation"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, organisations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations  # type: ignore[attr-defined]


class InvitationForm(forms.Form):
    """Add or edit an invitation: name, email, organisation, role, language."""

    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email"), max_length=254)
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=None)
    role = forms.ChoiceField(label=_("User role"))
    language = forms.ChoiceField(label=_("User language"), choices=Language.choices)

    def __init__(self, *args: Any, actor: Any, organisations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations  # type: ignore[attr-defined]
        self.fields["role"].choices = grantable_roles(actor)  # type: ignore[attr-defined]


class AcceptInvitationForm(forms.Form):
    """The invitee confirms their name and chooses a password under the policy."""

    name = forms.CharField(label=_("Name"), max_length=200)
    password = password_field(_("Password"), "new-password", autofocus=True)
    confirmation = password_field(_("Confirm password"), "new-password")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = password_validation.password_validators_help_text_html()
