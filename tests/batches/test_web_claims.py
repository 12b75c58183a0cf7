"""Claims, decisions, the bell and hand-overs in the browser; the device list's actions."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from meterkms.batches.models import Batch, ClaimRequest
from meterkms.batches.services import claim_batch, create_batch, transfer_ownership
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.models import Device
from tests.batches.helpers import devices, fresh, partner, state, typed
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


# --- device list actions and claims ---------------------------------------------------------


def test_the_device_list_offers_claim_and_batch_actions_by_permission(
    world: World, client_for
) -> None:
    make_device(world.org_a, "U1")
    make_device(world.org_a, "C1", claim_status=ClaimStatus.CLAIMED.value)
    olga = client_for(world.olga).get("/catalogue/devices/").content.decode()
    assert olga.count(">Claim device</button>") == 1
    assert "Claim devices" in olga
    assert "Create batch from selection" not in olga
    alice = client_for(world.alice).get("/catalogue/devices/").content.decode()
    assert "Create batch from selection" in alice
    assert "Take ownership" in alice
    bob = client_for(world.bob).get("/catalogue/devices/").content.decode()
    assert "Claim device" not in bob


def test_claim_device_from_the_row(world: World, client_for) -> None:
    device = make_device(world.org_a, "ROW1")
    response = client_for(world.olga).post(
        "/catalogue/devices/claim/", {"one": str(device.pk), "next": "/catalogue/devices/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/catalogue/devices/"
    assert state(device)[0] == "CLAIMED"


def test_claiming_a_claimed_device_shows_why(world: World, client_for) -> None:
    device = make_device(world.org_a, "DONE1", claim_status=ClaimStatus.CLAIMED.value)
    html = (
        client_for(world.olga)
        .post("/catalogue/devices/claim/", {"device": [str(device.pk)]}, follow=True)
        .content.decode()
    )
    assert "1 device cannot be claimed: nothing was claimed. DONE1" in html


def test_the_claim_batch_page_lists_offers_and_claims_them(world: World, client_for) -> None:
    partner(world.org_a, world.org_b)
    batch = _ship(world, "OFFER", recipient=world.org_b, needs_confirmation=True)
    client = client_for(world.cecil)
    html = client.get("/catalogue/batches/claim/").content.decode()
    assert _references(html) == ["OFFER"]
    assert world.org_a.name in html  # the sender, which the recipient may know
    response = client.post(f"/catalogue/batches/{batch.pk}/claim/", follow=True)
    assert "2 devices wait for the sender&#x27;s confirmation." in response.content.decode()
    assert [state(d)[0] for d in Device._base_manager.filter(batch=batch)] == ["PENDING"] * 2
    assert _references(client.get("/catalogue/batches/claim/").content.decode()) == []


def test_the_sender_confirms_on_the_batch_page_and_the_bell_shows_the_request(
    world: World, client_for
) -> None:
    partner(world.org_a, world.org_b)
    batch = _ship(world, "BELL", recipient=world.org_b, needs_confirmation=True)
    claim_batch(actor=fresh(world.cecil), batch=batch)
    client = client_for(world.alice)
    home = client.get("/").content.decode()
    assert "Claim requests to confirm" in home
    assert f"{world.org_b.name} claims 2 devices of batch BELL" in home
    # An admin without batches:confirm sees no request in the bell.
    assert "Claim requests to confirm" not in client_for(world.adam).get("/").content.decode()
    detail = client.get(f"/catalogue/batches/{batch.pk}/").content.decode()
    request = ClaimRequest._base_manager.get(batch=batch)
    assert f'action="/catalogue/claims/{request.pk}/confirm/"' in detail
    response = client.post(f"/catalogue/claims/{request.pk}/confirm/", follow=True)
    assert "Claim of 2 devices of batch BELL confirmed." in response.content.decode()
    assert "No new notifications" in client.get("/").content.decode()
    assert [state(d)[:2] for d in Device._base_manager.filter(batch=batch)] == [
        ("CLAIMED", world.org_b.pk)
    ] * 2


def test_the_bell_costs_one_query_and_only_where_it_is_shown(world: World, client_for) -> None:
    client = client_for(world.alice)
    client.get("/catalogue/devices/")
    with CaptureQueriesContext(connection) as with_bell:
        client.get("/catalogue/devices/")
    with CaptureQueriesContext(connection) as partial:
        client.get("/catalogue/devices/", headers={"HX-Request": "true"})
    bell = [q for q in with_bell if "batches_claimrequest" in q["sql"]]
    assert len(bell) == 1
    assert not [q for q in partial if "batches_claimrequest" in q["sql"]]


def test_the_claim_requests_page_lets_the_sender_reject(world: World, client_for) -> None:
    partner(world.org_a, world.org_b)
    batch = _ship(world, "REJ", recipient=world.org_b, needs_confirmation=True)
    claim_batch(actor=fresh(world.cecil), batch=batch)
    request = ClaimRequest._base_manager.get(batch=batch)
    client = client_for(world.alice)
    html = client.get("/catalogue/claims/", {"state": "open"}).content.decode()
    assert f'action="/catalogue/claims/{request.pk}/reject/"' in html
    client.post(f"/catalogue/claims/{request.pk}/reject/", {"note": "not paid"})
    request.refresh_from_db()
    assert (request.state, request.note) == ("rejected", "not paid")
    # The claimer sees the outcome, without buttons.
    theirs = client_for(world.cecil).get("/catalogue/claims/").content.decode()
    assert "rejected" in theirs
    assert "/reject/" not in theirs


# --- ownership ------------------------------------------------------------------------------


def test_the_hand_over_page_moves_devices_by_serial(world: World, client_for) -> None:
    stock = devices(world.org_a, "H", 2, claim_status=ClaimStatus.CLAIMED.value)
    response = client_for(world.adam).post(
        "/catalogue/ownership/",
        {"receiver": str(world.org_a_child.pk), "reason": "service", "serials": "H0001\nH0002"},
        follow=True,
    )
    html = response.content.decode()
    assert "2 devices handed over to Integra Service." in html
    assert "service" in html
    assert [state(d)[:2] for d in stock] == [("UNCLAIMED", world.org_a_child.pk)] * 2


def test_the_hand_over_page_takes_a_selection(world: World, client_for) -> None:
    stock = devices(world.org_a, "SEL", 2, claim_status=ClaimStatus.CLAIMED.value)
    client = client_for(world.adam)
    html = client.post(
        "/catalogue/ownership/", {"device": [str(d.pk) for d in stock]}
    ).content.decode()
    assert "SEL0001, SEL0002" in html
    client.post(
        "/catalogue/ownership/",
        {
            "device": [str(d.pk) for d in stock],
            "receiver": str(world.org_a_child.pk),
            "reason": "r",
        },
    )
    assert [state(d)[1] for d in stock] == [world.org_a_child.pk] * 2


def test_hand_over_problems_are_listed(world: World, client_for) -> None:
    html = (
        client_for(world.adam)
        .post(
            "/catalogue/ownership/",
            {"receiver": str(world.org_a_child.pk), "reason": "r", "serials": "GHOST"},
        )
        .content.decode()
    )
    assert "1 problem: nothing was changed." in html
    assert "unknown serial number" in html


def test_claim_requests_and_hand_overs_of_the_other_tree_never_show(
    world: World, client_for
) -> None:
    devices(world.org_a, "IN", 1)
    batch = create_batch(
        actor=fresh(world.alice),
        reference="INTERNAL-SECRET",
        recipient=world.org_a_child,
        serials=typed("IN0001"),
        needs_confirmation=True,
    )
    claim_batch(actor=fresh(world.olga), batch=batch)
    stock = devices(world.org_a, "HO", 1, claim_status=ClaimStatus.CLAIMED.value)
    transfer_ownership(
        actor=fresh(world.adam),
        receiver=world.org_a_child,
        reason="hand-over-secret",
        device_ids=[stock[0].pk],
    )
    client = client_for(world.carol)
    for url in ("/catalogue/claims/", "/catalogue/ownership/", "/catalogue/batches/claim/"):
        html = client.get(url).content.decode()
        for secret in ("INTERNAL-SECRET", "hand-over-secret", world.org_a.name):
            assert secret not in html, (url, secret)
    assert "Claim requests to confirm" not in client.get("/").content.decode()
    api = client.get("/api/v1/claims/requests").json()
    assert api["count"] == 0
    assert client.get("/api/v1/ownership/transfers").json()["count"] == 0
