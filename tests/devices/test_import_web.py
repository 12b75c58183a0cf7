"""The import in the browser: upload (encrypted at once) → dry run → preview → import."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from meterkms.core import tenancy
from meterkms.devices import tasks
from meterkms.devices.models import Device, ImportRun
from tests.devices.conftest import HEADER, lora_csv, random_key
from tests.support.personas import World

pytestmark = pytest.mark.django_db


def _upload(client, text: str, name: str = "devices.csv", **fields: str):
    upload = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post("/catalogue/imports/new/", {"file": upload, **fields})


def test_upload_check_preview_and_import(
    world: World, client_for, django_capture_on_commit_callbacks
) -> None:
    text, keys = lora_csv(12)
    client = client_for(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, text)
    assert response.status_code == 302
    run = ImportRun._base_manager.get()
    assert response["Location"] == f"/catalogue/imports/{run.pk}/"
    assert run.state == "validated"
    spool = tasks.spool_dir() / run.spool_name
    stored = spool.read_bytes()
    assert all(key.encode() not in stored for key in keys.values())
    page = client.get(response["Location"]).content.decode()
    assert "Import now" in page
    assert "SN0000000" in page
    assert all(key not in page for key in keys.values())
    with django_capture_on_commit_callbacks(execute=True):
        committed = client.post(f"/catalogue/imports/{run.pk}/commit/")
    assert committed.status_code == 302
    run.refresh_from_db()
    assert (run.state, run.created_count, run.spool_name) == ("done", 12, "")
    assert not spool.exists()
    with tenancy.acting_as(world.alice):
        assert Device.objects.count() == 12


def test_upload_with_problems_lists_them_and_keeps_nothing(
    world: World, client_for, django_capture_on_commit_callbacks
) -> None:
    text = HEADER + f"X1;TOPAS Lora W8;70B3D5E75E000001;70B3D5E75E000000;{random_key()[:30]}\n"
    client = client_for(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, text)
    run = ImportRun._base_manager.get()
    assert run.state == "failed"
    assert run.spool_name == ""
    page = client.get(response["Location"]).content.decode()
    assert "line 2, AppKey:" in page
    assert "32 hex digits" in page
    assert "Import now" not in page


def test_commit_only_once_and_only_after_a_clean_check(
    world: World, client_for, django_capture_on_commit_callbacks
) -> None:
    text, _keys = lora_csv(2)
    client = client_for(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, text)
    run = ImportRun._base_manager.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/catalogue/imports/{run.pk}/commit/")
    again = client.post(f"/catalogue/imports/{run.pk}/commit/", follow=True)
    assert "cannot be written" in again.content.decode()
    with tenancy.acting_as(world.alice):
        assert Device.objects.count() == 2


def test_dropping_an_import_deletes_the_upload(
    world: World, client_for, django_capture_on_commit_callbacks
) -> None:
    text, _keys = lora_csv(2)
    client = client_for(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, text)
    run = ImportRun._base_manager.get()
    spool = tasks.spool_dir() / run.spool_name
    client.post(f"/catalogue/imports/{run.pk}/commit/", {"drop": "1"})
    assert not spool.exists()
    with tenancy.acting_as(world.alice):
        assert not Device.objects.exists()
