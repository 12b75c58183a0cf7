"""Key downloads in the browser: device list actions, the download page, the download list."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from meterkms.devices.enums import ClaimStatus, KeySlot
from meterkms.keys.downloads import service
from meterkms.keys.exports.protection import generate_recipient_keypair, open_export
from meterkms.keys.models import Download, DownloadState
from tests.keys.downloads.conftest import lora_device
from tests.support.leaks import found_in
from tests.support.personas import World

pytestmark = pytest.mark.django_db

NOTE = "You cannot download the key of a meter or module whose claim status is “UNCLAIMED”."
PASSWORD = "Web-Download-Pass-1"


def _new(*ids: int) -> str:
    return "/catalogue/downloads/new/?" + "&".join(f"device={pk}" for pk in ids)


def test_the_device_list_offers_downloads_to_roles_that_may_download(
    world: World, client_for: Any
) -> None:
    keyed = lora_device(world.org_a, "D-1")
    page = client_for(world.olga).get("/catalogue/devices/").content.decode()
    assert f'href="/catalogue/downloads/new/?device={keyed.device.pk}"' in page
    assert 'name="handoff"' in page
    assert "/catalogue/downloads/new/?selection=filter" in page
    assert NOTE in page
    viewer = client_for(world.bob).get("/catalogue/devices/").content.decode()
    assert "/catalogue/downloads/new/" not in viewer


def test_the_selection_is_handed_over_by_post_and_lands_in_the_url_without_tokens(
    world: World, client_for: Any
) -> None:
    first, second = lora_device(world.org_a, "D-1"), lora_device(world.org_a, "D-2")
    answer = client_for(world.olga).post(
        "/catalogue/downloads/new/",
        {"handoff": "1", "device": [first.device.pk, second.device.pk], "label": "x"},
    )
    assert answer.status_code == 302
    assert answer["Location"] == _new(first.device.pk, second.device.pk)
    assert "csrf" not in answer["Location"]


def test_the_download_page_shows_counts_reasons_and_the_note(world: World, fresh: Any) -> None:
    claimed = lora_device(world.org_a, "D-1")
    unclaimed = lora_device(world.org_a, "D-2", status=ClaimStatus.UNCLAIMED)
    foreign = lora_device(world.org_b, "CAROL-SECRET-1")
    page = fresh(world.olga).get(_new(claimed.device.pk, unclaimed.device.pk, foreign.device.pk))
    text = page.content.decode()
    assert page.status_code == 200
    assert "1 device gives its keys." in text
    assert "2 devices left out" in text
    assert "not claimed by your organisation" in text
    assert "not found" in text
    assert "CAROL-SECRET-1" not in text
    assert NOTE in text
    assert "Compatible, WEAK" in text
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]


def test_posting_the_form_answers_with_the_file_not_cached(world: World, fresh: Any) -> None:
    keyed = lora_device(world.org_a, "D-1")
    client = fresh(world.olga)
    client.may_carry_keys = True
    answer = client.post(
        _new(keyed.device.pk),
        {"format": "csv", "protection": "password", "password": PASSWORD,
         "password_again": PASSWORD},
    )  # fmt: skip
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    assert answer["Content-Disposition"].startswith('attachment; filename="keys-')
    assert answer["Content-Disposition"].endswith('.csv.mkms"')
    assert answer["Content-Type"] == "application/octet-stream"
    payload = open_export(answer.content, password=PASSWORD).payload.decode("utf-8-sig")
    assert keyed.keys[KeySlot.LORAWAN_APPKEY].hex().upper() in payload
    download = Download._base_manager.get(pk=answer["X-Download-Id"])
    assert download.state == DownloadState.DELIVERED


def test_the_recipient_key_is_uploaded_as_a_pem_file(world: World, fresh: Any) -> None:
    keyed = lora_device(world.org_a, "D-1")
    pair = generate_recipient_keypair(2048)
    client = fresh(world.olga)
    client.may_carry_keys = True
    answer = client.post(
        _new(keyed.device.pk),
        {
            "format": "json",
            "protection": "recipient",
            "recipient_public_key": SimpleUploadedFile("hsm.pem", pair.public_pem),
        },
    )
    assert answer.status_code == 200
    opened = open_export(answer.content, private_key=pair.private_pem)
    assert keyed.keys[KeySlot.LORAWAN_APPKEY].hex().upper() in opened.payload.decode()


def test_form_mistakes_are_shown_and_nothing_leaves(world: World, fresh: Any) -> None:
    keyed = lora_device(world.org_a, "D-1")
    client = fresh(world.olga)
    mismatch = client.post(
        _new(keyed.device.pk),
        {"format": "csv", "protection": "password", "password": PASSWORD,
         "password_again": PASSWORD + "x"},
    )  # fmt: skip
    assert mismatch.status_code == 200
    assert b"The two passwords differ." in mismatch.content
    short = client.post(
        _new(keyed.device.pk),
        {"format": "csv", "protection": "password", "password": "short", "password_again": "short"},
    )
    assert b"at least 12 characters" in short.content
    assert not Download._base_manager.exists()


def test_a_download_that_cannot_be_recorded_is_a_503_without_keys(
    world: World, fresh: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyed = lora_device(world.org_a, "D-1")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit down")

    monkeypatch.setattr(service, "record", broken)
    answer = fresh(world.olga).post(_new(keyed.device.pk), {"format": "csv", "protection": "none"})
    assert answer.status_code == 503
    assert not found_in(answer.content)
    assert b"could not be recorded" in answer.content


def test_a_background_download_lands_in_the_list_and_is_fetched_by_post(
    world: World, fresh: Any, django_capture_on_commit_callbacks: Any
) -> None:
    keyed = lora_device(world.org_a, "D-1")
    client = fresh(world.olga)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            _new(keyed.device.pk),
            {"format": "json", "protection": "none", "background": "on"},
        )
    assert answer.status_code == 302
    download = Download._base_manager.get()
    assert answer["Location"] == f"/catalogue/downloads/{download.pk}/"
    listing = client.get("/catalogue/downloads/").content.decode()
    assert "JSON" in listing
    assert f'action="/catalogue/downloads/{download.pk}/file/"' in listing
    assert "ready" in listing
    detail = client.get(answer["Location"]).content.decode()
    assert "meterkms export open" in detail
    assert client.get(f"/catalogue/downloads/{download.pk}/file/").status_code == 405
    client.may_carry_keys = True
    fetched = client.post(f"/catalogue/downloads/{download.pk}/file/")
    assert fetched.status_code == 200
    assert "no-store" in fetched["Cache-Control"]
    content = b"".join(fetched.streaming_content)
    assert keyed.keys[KeySlot.LORAWAN_APPKEY].hex().upper() in open_export(content).payload.decode()


def test_the_list_polls_while_a_download_is_prepared(world: World, fresh: Any) -> None:
    keyed = lora_device(world.org_a, "D-1")
    client = fresh(world.olga)
    client.post(_new(keyed.device.pk), {"format": "csv", "protection": "none", "background": "on"})
    download = Download._base_manager.get()
    assert download.state == DownloadState.QUEUED  # the task runs on commit; not here
    listing = client.get("/catalogue/downloads/").content.decode()
    assert 'hx-trigger="every 2s"' in listing
    assert "<progress" in listing
    status = client.get(f"/catalogue/downloads/{download.pk}/", HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in status.content.decode()
    assert "<html" not in status.content.decode()


def test_the_download_list_is_personal(world: World, fresh: Any) -> None:
    keyed = lora_device(world.org_a, "D-1")
    owner = fresh(world.olga)
    owner.may_carry_keys = True
    owner.post(_new(keyed.device.pk), {"format": "csv", "protection": "none"})
    download = Download._base_manager.get()
    others = fresh(world.adam)
    assert "keys-" not in others.get("/catalogue/downloads/").content.decode()
    assert others.get(f"/catalogue/downloads/{download.pk}/").status_code == 404
    assert others.post(f"/catalogue/downloads/{download.pk}/file/").status_code == 404


def test_a_stale_session_cannot_fetch_a_prepared_file(world: World, fresh: Any, clock: Any) -> None:
    keyed = lora_device(world.org_a, "D-1")
    client = fresh(world.olga)
    client.post(_new(keyed.device.pk), {"format": "csv", "protection": "none", "background": "on"})
    download = Download._base_manager.get()
    clock(600)
    answer = client.post(f"/catalogue/downloads/{download.pk}/file/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/reauth/?next=")


def test_the_catalogue_menu_lists_the_download_list(world: World, client_for: Any) -> None:
    menu = client_for(world.olga).get("/menu/catalogue/").content.decode()
    assert 'href="/catalogue/downloads/"' in menu
    assert (
        "/catalogue/downloads/"
        not in client_for(world.bob).get("/menu/catalogue/").content.decode()
    )


def test_download_everything_the_filter_shows(world: World, fresh: Any) -> None:
    lora_device(world.org_a, "F-1")
    lora_device(world.org_a, "F-2", status=ClaimStatus.PENDING)
    lora_device(world.org_b, "CAROL-1")
    page = fresh(world.olga).get("/catalogue/downloads/new/?selection=filter&serial=F-")
    text = page.content.decode()
    assert "1 device gives its keys." in text
    assert "F-2" in text
    assert "CAROL-1" not in text
    assert re.search(r"1 device left out", text)
