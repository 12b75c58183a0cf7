"""Forms of the batch pages: create a batch, hand devices over, decide a claim request.

The forms only collect input; the services check it (and report serial problems with their
line and column). A file upload is read as a stream by :mod:`meterkms.batches.serials`.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from meterkms.batches import serials as reader
from meterkms.batches.serials import Entry, Problem
from meterkms.organisations.models import Organisation
from meterkms.organisations.queries import recipient_choices

#: Largest serial file accepted (100,000 serials of 64 characters fit with room to spare).
MAX_FILE_BYTES = 16 * 1024 * 1024
FILE_TYPES = (".txt", ".csv")


class SerialsField(forms.CharField):
    """Comma-separated serial numbers typed or pasted (also one per line)."""

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"})


def _file_field(label: Any) -> forms.FileField:
    return forms.FileField(
        label=label,
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(FILE_TYPES)}),
    )


class SerialInputMixin:
    """Typed serials plus an optional file, read as one stream of entries and problems."""

    cleaned_data: dict[str, Any]

    def clean_file(self) -> Any:
        """A ``.txt`` or ``.csv`` file of at most :data:`MAX_FILE_BYTES`, or None."""
        upload = self.cleaned_data.get("file")
        if not upload:
            return None
        if not upload.name.lower().endswith(FILE_TYPES):
            raise forms.ValidationError(_("Choose a .txt or .csv file."))
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(n)d MB.") % {"n": MAX_FILE_BYTES // 2**20}
            )
        return upload

    def entries(self) -> Iterator[Entry | Problem]:
        """The typed serials (source "typed input") then the file's (source: its name)."""
        typed = reader.read_text(
            self.cleaned_data.get("serials") or "", source=str(_("typed input"))
        )
        upload = self.cleaned_data.get("file")
        if upload is None:
            return typed
        upload.seek(0)
        return chain(typed, reader.read_serials(reader.file_chunks(upload), source=upload.name))


class RecipientChoiceField(forms.ModelChoiceField):
    """An organisation of the actor's tree or a partner; searchable in the page."""

    widget = forms.Select(attrs={"data-searchable": ""})

    def label_from_instance(self, obj: Organisation) -> str:
        """The organisation's name only (no ids in the page)."""
        return obj.name


class BatchForm(SerialInputMixin, forms.Form):
    """ "Erstellen von Versandlosreferenz": reference, serials, file, confirmation, label, org."""

    reference = forms.CharField(label=_("Batch"), max_length=100)
    serial_entry = forms.CharField(
        label=_("Serial number"),
        required=False,
        max_length=10_000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )
    serials = SerialsField(label=_("Comma-separated device serial numbers"), required=False)
    file = _file_field(_("Comma-separated device serial numbers from a file (.txt, .csv)"))
    needs_confirmation = forms.BooleanField(
        label=_("Claim request needs confirmation"), required=False
    )
    label = forms.CharField(label=_("Label"), max_length=100, required=False)
    recipient = RecipientChoiceField(
        label=_("Organisation"), queryset=Organisation._base_manager.none()
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipient"].queryset = recipient_choices(actor).exclude(
            pk=actor.organisation_id
        )

    def add_typed(self) -> str:
        """The list with the single-entry field appended ("Geräte hinzufügen")."""
        data = self.data.copy()
        entry = " ".join(str(data.get("serial_entry", "")).split())
        listed = str(data.get("serials", "")).strip()
        if entry:
            listed = f"{listed}, {entry}" if listed else entry
        data["serials"] = listed
        data["serial_entry"] = ""
        self.data = data
        return listed


class TransferForm(SerialInputMixin, forms.Form):
    """ "Besitz übernehmen": receiver, reason / reference, serials (or a selection), file."""

    receiver = RecipientChoiceField(
        label=_("Receiving organisation"), queryset=Organisation._base_manager.none()
    )
    reason = forms.CharField(label=_("Reason / reference"), max_length=200)
    serials = SerialsField(label=_("Comma-separated device serial numbers"), required=False)
    file = _file_field(_("Comma-separated device serial numbers from a file (.txt, .csv)"))

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["receiver"].queryset = recipient_choices(actor)


class DecisionForm(forms.Form):
    """An optional note with a confirmation or rejection."""

    note = forms.CharField(label=_("Note"), max_length=200, required=False)
