"""The batch list and the create form in the browser: content, filters, tenancy, problems."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from meterkms.batches.models import Batch
from meterkms.batches.services import claim_batch, create_batch
from tests.batches.helpers import devices, fresh, partner, typed
from tests.support.catalogue import make_device
from tests.support.personas import World

pytestmark = pytest.mark.django_db


def _ship(world: World, reference: str = "LOT", count: int = 2, **kwargs) -> Batch:
    devices(world.org_a, reference, count)
    serials = [f"{reference}{i:04d}" for i in range(1, count + 1)]
    kwargs.setdefault("recipient", world.org_a_child)
    return create_batch(
        actor=fresh(world.alice), reference=reference, serials=typed(*serials), **kwargs
    )


def _references(html: str) -> list[str]:
    return re.findall(r'<a href="/catalogue/batches/\d+/">([^<]+)</a>', html)


# --- list -----------------------------------------------------------------------------------


def test_the_list_shows_the_columns_rows_and_total(world: World, client_for) -> None:
    _ship(world, "LOT-A", label="spring")
    html = client_for(world.alice).get("/catalogue/batches/").content.decode()
    assert _references(html) == ["LOT-A"]
    for column in (
        "Batch reference",
        "Label",
        "Organisation",
        "Confirmation state",
        "Devices",
        "Created",
        "Created by",
    ):
        assert f"<th>{column}</th>" in html
    assert "spring" in html
    assert world.org_a_child.name in html
    assert "All batch references: 1" in html
    assert world.alice.name in html


def test_the_empty_list_says_so(world: World, client_for) -> None:
    html = client_for(world.alice).get("/catalogue/batches/").content.decode()
    assert "No batch references" in html
    assert "All batch references: 0" in html
    for chip in ("Batch", "Confirmation state", "Serial number", "Created from", "Created until"):
        assert f"{chip}: <span" in html


def test_the_list_in_german_uses_the_manuals_words(world: World, client_for) -> None:
    type(world.alice)._base_manager.filter(pk=world.alice.pk).update(language="de")
    html = client_for(world.alice).get("/catalogue/batches/").content.decode()
    for words in ("Versandlos: <span", "Seriennummer: <span", "Alle"):
        assert words in html


def test_the_list_never_shows_the_other_tree(world: World, client_for) -> None:
    _ship(world, "MINE")
    devices(world.org_b, "B", 1)
    b_child = Batch._base_manager.create(
        reference="THEIRS-SECRET", creator=world.org_b, recipient=world.org_b
    )
    html = client_for(world.alice).get("/catalogue/batches/").content.decode()
    assert "THEIRS-SECRET" not in html
    assert world.org_b.name not in html
    assert "All batch references: 1" in html
    # …also not as a filter choice, nor as a detail page.
    assert f'value="{b_child.pk}"' not in html
    assert client_for(world.alice).get(f"/catalogue/batches/{b_child.pk}/").status_code == 404


def test_the_recipient_sees_the_batch_and_its_offered_devices(world: World, client_for) -> None:
    partner(world.org_a, world.org_b)
    batch = _ship(world, "TO-B", recipient=world.org_b)
    html = client_for(world.carol).get(f"/catalogue/batches/{batch.pk}/").content.decode()
    assert "TO-B0001" in html
    assert "TO-B0002" in html
    claim_button = f'action="/catalogue/batches/{batch.pk}/claim/"'
    assert claim_button in html
    sender = client_for(world.alice).get(f"/catalogue/batches/{batch.pk}/").content.decode()
    assert claim_button not in sender


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["SECOND", "FIRST", "THIRD"]),
        ({"confirmation_state": "requested"}, ["SECOND"]),
        ({"serial": "FIRST0002"}, ["FIRST"]),
        ({"serial": "NOTHING"}, []),
        ({"created_before": "2020-01-01"}, ["THIRD"]),
        ({"created_after": "2020-01-02"}, ["SECOND", "FIRST"]),
    ],
)
def test_filters_narrow_the_list(world: World, client_for, query: dict, expected: list) -> None:
    _ship(world, "FIRST")
    second = _ship(world, "SECOND", needs_confirmation=True)
    claim_batch(actor=fresh(world.olga), batch=second)
    third = _ship(world, "THIRD")
    Batch._base_manager.filter(pk=third.pk).update(
        created_at=timezone.now().replace(year=2019) - timedelta(days=1)
    )
    html = client_for(world.alice).get("/catalogue/batches/", query).content.decode()
    assert _references(html) == expected


def test_the_batch_filter_offers_only_visible_batches(world: World, client_for) -> None:
    mine = _ship(world, "MINE")
    html = client_for(world.alice).get("/catalogue/batches/", {"batch": mine.pk}).content.decode()
    assert _references(html) == ["MINE"]


def _list_queries(client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _rows_for_carol(world: World, number: int) -> None:
    """One offered batch and one claim request for org B."""
    _ship(world, f"OFFER{number}-", count=1, recipient=world.org_b)
    claimed = _ship(world, f"REQ{number}-", count=1, recipient=world.org_b, needs_confirmation=True)
    claim_batch(actor=fresh(world.carol), batch=claimed)


@pytest.mark.parametrize(
    "url", ["/catalogue/batches/", "/catalogue/claims/", "/catalogue/batches/claim/"]
)
def test_lists_cost_the_same_queries_for_one_or_three_rows(
    world: World, client_for, url: str
) -> None:
    partner(world.org_a, world.org_b)
    client = client_for(world.carol)
    _rows_for_carol(world, 0)
    one = _list_queries(client, url)
    _rows_for_carol(world, 1)
    _rows_for_carol(world, 2)
    assert _list_queries(client, url) == one


# --- create ---------------------------------------------------------------------------------


def test_the_form_has_the_manuals_fields(world: World, client_for) -> None:
    html = client_for(world.alice).get("/catalogue/batches/new/").content.decode()
    for words in (
        "Create batch reference",
        ">Batch</label>",
        ">Serial number</label>",
        "Comma-separated device serial numbers",
        "Add devices",
        "Choose file",
        "Claim request needs confirmation",
        ">Label</label>",
        ">Organisation</label>",
        "Save",
    ):
        assert words in html, words


def test_the_recipient_choices_are_the_tree_and_the_partners(world: World, client_for) -> None:
    html = client_for(world.alice).get("/catalogue/batches/new/").content.decode()
    assert world.org_a_child.name in html
    assert world.org_b.name not in html
    partner(world.org_a, world.org_b)
    html = client_for(world.alice).get("/catalogue/batches/new/").content.decode()
    assert world.org_b.name in html
    assert f'<option value="{world.org_a.pk}"' not in html


def test_typed_serials_create_a_batch(world: World, client_for) -> None:
    devices(world.org_a, "T", 2)
    response = client_for(world.alice).post(
        "/catalogue/batches/new/",
        {
            "reference": "WEB-1",
            "serials": "T0001, T0002",
            "recipient": str(world.org_a_child.pk),
            "needs_confirmation": "on",
            "label": "north",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Batch WEB-1 created with 2 devices." in html
    batch = Batch._base_manager.get(reference="WEB-1")
    assert (batch.needs_confirmation, batch.label, batch.device_count) == (True, "north", 2)


def test_a_file_of_serials_creates_a_batch(world: World, client_for) -> None:
    devices(world.org_a, "F", 3)
    upload = SimpleUploadedFile(
        "lot.csv", b'\xef\xbb\xbfserial\r\n"F0001"\r\nF0002;F0003\r\n\r\n', "text/csv"
    )
    response = client_for(world.alice).post(
        "/catalogue/batches/new/",
        {"reference": "FILE-1", "file": upload, "recipient": str(world.org_a_child.pk)},
    )
    batch = Batch._base_manager.get(reference="FILE-1")
    assert response.status_code == 302
    assert response["Location"] == f"/catalogue/batches/{batch.pk}/"
    assert batch.device_count == 3


def test_problems_are_listed_with_line_and_column_and_nothing_is_created(
    world: World, client_for
) -> None:
    devices(world.org_a, "P", 1)
    make_device(world.org_b, "SECRET-B")
    upload = SimpleUploadedFile("bad.txt", b"P0001\nNOPE\nSECRET-B\nP0001\n", "text/plain")
    response = client_for(world.alice).post(
        "/catalogue/batches/new/",
        {"reference": "BAD", "file": upload, "recipient": str(world.org_a_child.pk)},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 problems: nothing was changed." in html
    rows = re.findall(
        r"<tr><td>bad.txt</td><td>(\d+)</td><td>(\d+)</td><td class=\"mono\">([^<]*)</td>"
        r"<td>([^<]*)</td></tr>",
        html,
    )
    assert rows == [
        ("2", "1", "NOPE", "unknown serial number"),
        ("3", "1", "SECRET-B", "unknown serial number"),
        ("4", "1", "P0001", "listed twice (first in line 1, column 1)"),
    ]
    assert not Batch._base_manager.exists()


def test_a_wrong_file_type_is_refused(world: World, client_for) -> None:
    upload = SimpleUploadedFile("lot.xlsx", b"P0001", "application/octet-stream")
    html = (
        client_for(world.alice)
        .post(
            "/catalogue/batches/new/",
            {"reference": "X", "file": upload, "recipient": str(world.org_a_child.pk)},
        )
        .content.decode()
    )
    assert "Choose a .txt or .csv file." in html


def test_add_devices_appends_the_typed_serial_without_saving(world: World, client_for) -> None:
    html = (
        client_for(world.alice)
        .post(
            "/catalogue/batches/new/",
            {"reference": "R", "serials": "A1", "serial_entry": " A2 ", "add": "1"},
        )
        .content.decode()
    )
    assert re.search(r"<textarea[^>]*>\s*A1, A2</textarea>", html)
    assert not Batch._base_manager.exists()


def test_a_batch_from_the_selection_fills_in_the_serials(world: World, client_for) -> None:
    stock = devices(world.org_a, "S", 2)
    foreign = make_device(world.org_b, "FOREIGN")
    html = (
        client_for(world.alice)
        .post(
            "/catalogue/batches/from-selection/",
            {"device": [str(stock[1].pk), str(stock[0].pk), str(foreign.pk)]},
        )
        .content.decode()
    )
    assert re.search(r"<textarea[^>]*>\s*S0001, S0002</textarea>", html)
    assert "FOREIGN" not in html
