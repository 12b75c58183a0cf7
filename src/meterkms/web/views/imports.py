"""Manufacturer imports in the browser: upload → dry run → preview → import → done.

The upload is encrypted while it streams in (``SpoolUploadHandler``): a file full of keys in
clear never lands on the disk in clear, not even as Django's temporary upload file.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from meterkms.core.errors import DomainError
from meterkms.devices import tasks
from meterkms.devices.filters import ImportRunFilter
from meterkms.devices.importers.dispatch import PARSERS
from meterkms.devices.importing.service import ImportOptions, Source, start_import
from meterkms.devices.models import DeviceType, ImportRun
from meterkms.organisations.permissions import Perm
from meterkms.vault.spool import SpoolWriter, new_spool_key
from meterkms.web.views.base import render_list, requires

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
FORMAT_CHOICES = [("", gettext_lazy("detect automatically"))] + [
    (name, name) for name in sorted(PARSERS)
]
DELIMITERS = [("", gettext_lazy("detect")), (";", ";"), (",", ","), ("\t", "Tab"), ("|", "|")]


class SpooledFile(UploadedFile):
    """What the handler hands the view: the spool file's name and its plaintext size."""

    def __init__(self, spool_name: str, name: str, size: int) -> None:
        super().__init__(file=None, name=name, size=size)
        self.spool_name = spool_name


class SpoolUploadHandler(FileUploadHandler):
    """Encrypts the uploaded file chunk by chunk into the spool directory."""

    def __init__(self, key: bytes, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.key = key
        self.writer: SpoolWriter | None = None
        self.spool_name = ""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if self.writer is not None:
            raise StopUpload(connection_reset=True)  # one file per import
        self.spool_name = secrets.token_hex(16)
        self.writer = SpoolWriter(tasks.spool_dir() / self.spool_name, self.key)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        assert self.writer is not None
        if self.writer.size + len(raw_data) > MAX_UPLOAD_BYTES:
            raise StopUpload(connection_reset=True)
        self.writer.write(raw_data)

    def file_complete(self, file_size: int) -> SpooledFile | None:
        assert self.writer is not None
        self.writer.close()
        return SpooledFile(self.spool_name, self.file_name or "upload", file_size)


class ImportForm(forms.Form):
    """The file and how to read it."""

    file = forms.FileField(label=gettext_lazy("File"))
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=FORMAT_CHOICES, required=False)
    device_type = forms.ModelChoiceField(
        label=gettext_lazy("Device type for rows without one"),
        queryset=DeviceType._base_manager.none(),
        required=False,
    )
    delimiter = forms.ChoiceField(
        label=gettext_lazy("CSV delimiter"), choices=DELIMITERS, required=False
    )
    generate_keys = forms.BooleanField(label=gettext_lazy("Generate missing keys"), required=False)
    update_existing = forms.BooleanField(
        label=gettext_lazy("Update devices that exist already (a changed key gets a new version)"),
        required=False,
    )
    password = forms.CharField(
        label=gettext_lazy("Password of a KEM file"),
        required=False,
        strip=False,
        widget=forms.PasswordInput,
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["device_type"].queryset = DeviceType.objects.visible_to(actor)  # type: ignore[attr-defined]


@requires(Perm.DEVICES_IMPORT)
def import_list_view(request: HttpRequest) -> HttpResponse:
    """The organisation's imports, newest first."""
    return render_list(
        request,
        "web/imports/list.html",
        filterset_class=ImportRunFilter,
        queryset=ImportRun.objects.visible_to(request.actor),  # type: ignore[attr-defined]
    )


@csrf_exempt
def import_new_view(request: HttpRequest) -> HttpResponse:
    """Upload; the spool handler must be in place before the body is read."""
    key = new_spool_key()
    request.upload_handlers = [SpoolUploadHandler(key, request)]
    return _import_new(request, key)


@requires(Perm.DEVICES_IMPORT)
@csrf_protect
def _import_new(request: HttpRequest, key: bytes) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    form = ImportForm(request.POST or None, request.FILES or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        upload: SpooledFile = form.cleaned_data["file"]
        data = form.cleaned_data
        options = ImportOptions(
            format=data["format"] or None,
            delimiter=data["delimiter"] or None,
            default_type_id=data["device_type"].pk if data["device_type"] else None,
            generate_missing=data["generate_keys"],
            update_existing=data["update_existing"],
        )
        source = Source(tasks.spool_dir() / upload.spool_name, name=upload.name, spool_key=key)
        try:
            run = _register(actor, source, options, upload.spool_name, key, data["password"])
        except DomainError as exc:
            source.path.unlink(missing_ok=True)
            form.add_error(None, exc.message)
        else:
            return redirect("web:import_detail", run_id=run.pk)
    return render(request, "web/imports/new.html", {"form": form})


def _register(
    actor: Any, source: Source, options: ImportOptions, spool_name: str, key: bytes, password: str
) -> ImportRun:
    run = start_import(actor=actor, source=source, options=options)
    # Sealing reserves vault capacity, which commits on its own: before the transaction.
    run.spool_name = spool_name
    run.spool_key_sealed = tasks.seal_secret(run, "spool", key)
    if password:
        run.password_sealed = tasks.seal_secret(run, "password", password.encode())
    with transaction.atomic():
        run.save(update_fields=["spool_name", "spool_key_sealed", "password_sealed"])
        tasks.enqueue(tasks.check_import, run)
    return run


@requires(Perm.DEVICES_IMPORT)
def import_detail_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """State and progress, problems by line and column, or the preview to confirm."""
    run = get_object_or_404(ImportRun.objects.visible_to(request.actor), pk=run_id)  # type: ignore[attr-defined]
    context = {"run": run, "preview": run.options.get("preview", [])}
    if request.htmx and run.in_progress:  # type: ignore[attr-defined]
        return render(request, "web/imports/detail.html#status", context)
    return render(request, "web/imports/detail.html", context)


@requires(Perm.DEVICES_IMPORT)
@require_POST
def import_commit_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """Write a checked import (in the background), or drop it."""
    run = get_object_or_404(ImportRun.objects.visible_to(request.actor), pk=run_id)  # type: ignore[attr-defined]
    if request.POST.get("drop"):
        tasks.drop_spool(run)
        ImportRun._base_manager.filter(pk=run.pk).update(state=ImportRun.State.FAILED)
        messages.success(request, _("The import has been dropped; nothing was written."))
        return redirect("web:imports")
    with transaction.atomic():
        updated = ImportRun._base_manager.filter(pk=run.pk, state=ImportRun.State.VALIDATED).update(
            state=ImportRun.State.QUEUED
        )
        if updated:
            tasks.enqueue(tasks.commit_import, run)
    if not updated:
        messages.error(request, _("This import cannot be written (any more)."))
    return redirect("web:import_detail", run_id=run.pk)
