"""Prove keys ("Schlüssel prüfen"): paste or upload captured telegrams, see which key fits.

The page shows the summary and the first rows; "Download CSV report" proves the same input
again and answers with the whole report. Uploads are limited in size while they stream in
(:class:`LimitedUploadHandler`), pasted text by Django's request size limit; either way
the user gets a message instead of a broken connection.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from meterkms.core.errors import DomainError
from meterkms.devices.enums import Technology
from meterkms.keys.proofs import Verdict
from meterkms.keys.proofs.rows import CsvReport
from meterkms.keys.proofs.service import ProofRun, prove_traffic
from meterkms.organisations.permissions import Perm
from meterkms.web.views.base import requires

MAX_UPLOAD_BYTES = 64 * 1024 * 1024
SHOWN_ROWS = 1000
CSV_NAME = "key-proof.csv"
TECHNOLOGIES = [
    ("", gettext_lazy("detect per line")),
    (Technology.WMBUS.value, Technology.WMBUS.value),
    (Technology.LORAWAN.value, Technology.LORAWAN.value),
]


class LimitedUploadHandler(FileUploadHandler):
    """Stops storing an upload past ``limit`` bytes and remembers that it did.

    First in the chain: Django's own handlers only ever see an upload within the limit.
    """

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)  # read and drop the rest, then answer
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class ProofForm(forms.Form):
    """Telegrams pasted or a log file, and the technology when it should not be detected."""

    telegrams = forms.CharField(
        label=gettext_lazy("Telegrams"),
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 8, "class": "mono", "spellcheck": "false", "autocomplete": "off"}
        ),
        help_text=gettext_lazy(
            "One telegram per line: hex (with or without link CRCs), wmbusmeters "
            "telegram=|…| lines, rtl-wmbus lines, or LoRaWAN join requests and join accepts."
        ),
    )
    file = forms.FileField(
        label=gettext_lazy("Or a log file"),
        required=False,
        help_text=gettext_lazy("Up to 64 MB; for big logs, also from the command line."),
    )
    technology = forms.ChoiceField(
        label=gettext_lazy("Technology"), choices=TECHNOLOGIES, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        pasted = bool(data.get("telegrams", "").strip())
        if pasted and data.get("file"):
            raise forms.ValidationError(_("Paste telegrams or choose a file, not both."))
        if not pasted and not data.get("file"):
            raise forms.ValidationError(_("Paste at least one telegram or choose a log file."))
        return data


@csrf_exempt
@never_cache
def proofs_view(request: HttpRequest) -> HttpResponse:
    """The size limits apply before Django reads the body; the CSRF check comes after."""
    limit = LimitedUploadHandler(request, MAX_UPLOAD_BYTES)
    request.upload_handlers.insert(0, limit)
    too_large = ""
    actor = getattr(request, "actor", None)
    # Only for someone who may prove: nobody else gets a body parsed.
    if request.method == "POST" and actor is not None and actor.has(Perm.KEYS_PROVE):
        too_large = _size_problem(request, limit)
    return _proofs(request, too_large)


def _size_problem(request: HttpRequest, limit: LimitedUploadHandler) -> str:
    """Why the posted body is too large to prove, or ""."""
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > MAX_UPLOAD_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return _("The file is larger than 64 MB. Prove it in parts or from the command line.")
    try:
        request.POST  # noqa: B018 - parse now, within the limits
    except RequestDataTooBig:
        return _("Pasted text is limited to 3 MB. Upload bigger logs as a file.")
    if limit.exceeded:
        return _("The file is larger than 64 MB. Prove it in parts or from the command line.")
    return ""


@requires(Perm.KEYS_PROVE)
@csrf_protect
def _proofs(request: HttpRequest, too_large: str) -> HttpResponse:
    form = ProofForm()
    run: ProofRun | None = None
    if request.method == "POST" and not too_large:
        form = ProofForm(request.POST, request.FILES)
        if form.is_valid():
            want_csv = request.POST.get("format") == "csv"
            report = io.StringIO()
            try:
                run = _prove(request, form.cleaned_data, report if want_csv else None)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if want_csv:
                    return _csv_response(report.getvalue())
    context = {
        "form": form,
        "problem": too_large,
        "run": run,
        "summary": _summary(run) if run else None,
    }
    return render(request, "web/proofs/prove.html", context)


def _prove(request: HttpRequest, data: dict[str, Any], report: io.StringIO | None) -> ProofRun:
    upload: UploadedFile | None = data.get("file")
    capture: str | Iterable[str] = data["telegrams"] if upload is None else _lines(upload)
    csv_report = CsvReport(report) if report is not None else None
    return prove_traffic(
        actor=request.actor,  # type: ignore[attr-defined]
        data=capture,
        technology=Technology(data["technology"]) if data.get("technology") else None,
        keep=0 if report is not None else SHOWN_ROWS,
        on_rows=csv_report.write if csv_report is not None else None,
        source="paste" if upload is None else (upload.name or "upload"),
        channel="web",
    )


def _lines(upload: UploadedFile) -> Iterator[str]:
    """The lines of an uploaded log, decoded one by one (UTF-8; a byte-order mark dropped)."""
    first = True
    for raw in upload:
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        if first:
            text, first = text.removeprefix("\ufeff"), False
        yield text


def _csv_response(text: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{CSV_NAME}"'
    return response


def _summary(run: ProofRun) -> dict[str, int]:
    """The counts the page shows above the rows."""
    summary = run.summary
    verdicts = summary.telegram_verdicts
    return {
        "lines": run.lines,
        "telegrams": summary.telegrams,
        "bad_lines": summary.bad_lines,
        "proven": verdicts.get(Verdict.PROVEN, 0),
        "wrong": verdicts.get(Verdict.WRONG_KEY, 0),
        "no_device": verdicts.get(Verdict.NO_DEVICE, 0),
        "cannot_tell": verdicts.get(Verdict.CANNOT_TELL, 0),
        "devices_proven": summary.proven_devices,
        "devices_wrong": summary.wrong_key_devices,
        "devices_unknown": summary.unknown_devices,
        "unreadable": run.unreadable_keys,
    }
