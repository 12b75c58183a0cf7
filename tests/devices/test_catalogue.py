"""The device list, detail and labels in the browser and over the API: content and tenancy."""

from __future__ import annotations

import json
import re

import pytest

from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.models import DeviceEvent, DeviceKey
from tests.support.catalogue import make_device, make_label, shared_type
from tests.support.personas import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(world: World) -> dict[str, object]:
    """Overlapping serial prefixes in both trees, so leaks would show."""
    a1 = make_device(world.org_a, "ABC0001", dev_eui="70B3D5E75E000001")
    a2 = make_device(
        world.org_a,
        "ABC0002",
        claim_status=ClaimStatus.CLAIMED.value,
        device_type=shared_type("Aquastream WM-Bus"),
        wmbus_manufacturer="IMT",
        meter_address="12345678",
    )
    a3 = make_device(world.org_a_child, "ABD0003")
    b1 = make_device(world.org_b, "ABC0009")
    make_label(world.org_a, "north", a1)
    make_label(world.org_b, "secret-b-label", b1)
    return {"a1": a1, "a2": a2, "a3": a3, "b1": b1}


def _rows(html: str) -> list[str]:
    return re.findall(r'<a href="/catalogue/devices/\d+/">([^<]+)</a>', html)


def test_list_shows_the_manuals_columns_and_total(world: World, catalogue, client_for) -> None:
    html = client_for(world.alice).get("/catalogue/devices/").content.decode()
    assert _rows(html) == ["ABC0001", "ABC0002", "ABD0003"]
    for column in ("Serial number", "Device type", "Claim status", "Labels", "Batch"):
        assert column in html
    assert "All devices: 3" in html
    assert "TOPAS Lora W8" in html
    assert "north" in html
    assert "ABC0009" not in html
    assert "secret-b-label" not in html


def test_list_in_german_uses_the_manuals_words(world: World, catalogue, client_for) -> None:
    type(world.alice)._base_manager.filter(pk=world.alice.pk).update(language="de")
    html = client_for(world.alice).get("/catalogue/devices/").content.decode()
    for word in (
        "Seriennummer",
        "Gerätetyp",
        "Annahmestatus",
        "Labels",
        "Versandlos",
        "Alle Geräte: 3",
    ):
        assert word in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"serial": "ABC"}, ["ABC0001", "ABC0002"]),
        ({"serial": "abc"}, []),
        ({"serial_contains": "0003"}, ["ABD0003"]),
        ({"claim_status": "CLAIMED"}, ["ABC0002"]),
        ({"q": "12345678"}, ["ABC0002"]),
        ({"q": "70b3d5e75e000001"}, ["ABC0001"]),
        ({"serial": "ABC", "claim_status": "UNCLAIMED"}, ["ABC0001"]),
        ({"ordering": "-serial"}, ["ABD0003", "ABC0002", "ABC0001"]),
    ],
)
def test_filters_narrow_within_the_scope(
    world: World, catalogue, client_for, query, expected
) -> None:
    html = client_for(world.alice).get("/catalogue/devices/", query).content.decode()
    assert _rows(html) == expected
    api = client_for(world.alice).get("/api/v1/devices", query).json()
    assert [item["serial"] for item in api["items"]] == expected
    assert api["count"] == len(expected)


def test_label_filter_lists_the_labelled_devices_the_actor_sees(
    world: World, catalogue, client_for
) -> None:
    """The label's devices, in serial order, without those now owned by another tree."""
    moved = make_device(world.org_b, "ABC0000")  # labelled by A earlier, now B's
    label = make_label(world.org_a, "lot-7", catalogue["a3"], catalogue["a1"], moved)
    html = client_for(world.alice).get("/catalogue/devices/", {"label": label.pk}).content
    assert _rows(html.decode()) == ["ABC0001", "ABD0003"]
    api = client_for(world.alice).get("/api/v1/devices", {"label": label.pk}).json()
    assert [item["serial"] for item in api["items"]] == ["ABC0001", "ABD0003"]
    assert (api["count"], api["count_exact"], api["count_estimated"]) == (2, True, False)


def test_filter_chips_show_the_chosen_value_once(world: World, catalogue, client_for) -> None:
    kind = shared_type("Aquastream WM-Bus")
    html = (
        client_for(world.alice)
        .get("/catalogue/devices/", {"serial": "ABC", "device_type": kind.pk})
        .content.decode()
    )
    values = re.findall(r'<span class="value">([^<]*)</span>', html)
    assert "ABC" in values  # a text filter: its value, once
    assert "Aquastream WM-Bus" in values  # a choice: its label
    assert f'value="{kind.pk}" checked' in html


def test_label_and_type_filters_offer_only_own_choices(world: World, catalogue, client_for) -> None:
    html = client_for(world.carol).get("/catalogue/devices/").content.decode()
    assert "secret-b-label" in html
    assert "north" not in html
    foreign_label = client_for(world.carol).get(
        "/api/v1/devices",
        {"label": str(catalogue["a1"].labels.through._base_manager.first().label_id)},
    )
    assert foreign_label.status_code == 422


def test_a_child_organisation_sees_only_its_own_devices(
    world: World, catalogue, client_for
) -> None:
    from meterkms.organisations.permissions import Role
    from tests.support.personas import make_user

    kid = make_user("kid@example.com", world.org_a_child, Role.OPERATOR)
    items = client_for(kid).get("/api/v1/devices").json()["items"]
    assert [item["serial"] for item in items] == ["ABD0003"]


def test_detail_shows_identifiers_and_check_values_never_keys(
    world: World, catalogue, client_for
) -> None:
    device = catalogue["a2"]
    DeviceKey._base_manager.create(
        device=device,
        slot="OMS",
        algorithm="AES128",
        sealed=b"\x01" * 61,
        kcv="A1B2C3",
        kcv_cmac="D4E5F6",
        fingerprint="f" * 32,
    )
    html = client_for(world.bob).get(f"/catalogue/devices/{device.pk}/").content.decode()
    for text in ("ABC0002", "Aquastream WM-Bus", "IMT", "12345678", "A1B2C3", "D4E5F6", "OMS"):
        assert text in html
    detail = client_for(world.bob).get(f"/api/v1/devices/{device.pk}").json()
    assert detail["keys"] == [
        {
            "slot": "OMS",
            "algorithm": "AES128",
            "version": 1,
            "state": "active",
            "kcv": "A1B2C3",
            "kcv_cmac": "D4E5F6",
        }
    ]
    assert "sealed" not in json.dumps(detail)


def test_foreign_device_is_a_404_like_a_missing_one(world: World, catalogue, client_for) -> None:
    client = client_for(world.carol)
    foreign = client.get(f"/catalogue/devices/{catalogue['a1'].pk}/")
    missing = client.get("/catalogue/devices/999999999/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


def test_labels_are_added_and_removed_on_a_selection(world: World, catalogue, client_for) -> None:
    client = client_for(world.olga)
    ids = [catalogue["a1"].pk, catalogue["a2"].pk, catalogue["b1"].pk]
    response = client.post(
        "/catalogue/devices/labels/", {"device": ids, "label": " Lot 7 ", "operation": "add"}
    )
    assert response.status_code == 302
    with tenancy.acting_as(world.olga):
        labelled = sorted(
            d.serial for d in catalogue["a1"].__class__.objects.filter(labels__name="Lot 7")
        )
    assert labelled == ["ABC0001", "ABC0002"]
    assert (
        not catalogue["b1"]
        .labels.through._base_manager.filter(device=catalogue["b1"], label__name="Lot 7")
        .exists()
    )
    api = client.post(
        "/api/v1/devices/labels",
        data=json.dumps({"devices": [catalogue["a1"].pk], "remove": ["Lot 7"]}),
        content_type="application/json",
    )
    assert api.json() == {"changed": 1}
    assert DeviceEvent._base_manager.filter(device=catalogue["a1"]).count() == 2
    with tenancy.crossing("test reads the audit log"):
        assert AuditEvent.objects.filter(action="device.labels_changed").count() == 2


def test_viewer_cannot_change_labels(world: World, catalogue, client_for) -> None:
    response = client_for(world.bob).post(
        "/catalogue/devices/labels/",
        {"device": [catalogue["a1"].pk], "label": "x", "operation": "add"},
    )
    assert response.status_code == 403


def test_list_query_count_does_not_grow_with_rows(
    world: World, client_for, django_assert_max_num_queries
) -> None:
    client = client_for(world.alice)
    client.get("/catalogue/devices/")
    make_device(world.org_a, "Q1")
    with django_assert_max_num_queries(14) as one:
        client.get("/catalogue/devices/")
    for index in range(2, 4):
        make_label(world.org_a, f"l{index}", make_device(world.org_a, f"Q{index}"))
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get("/catalogue/devices/")


def test_device_types_page_lists_shared_types_and_adds_own(world: World, client_for) -> None:
    page = client_for(world.bob).get("/catalogue/device-types/").content.decode()
    assert "TOPAS Lora W8" in page
    assert "Add a device type" not in page
    client = client_for(world.alice)
    response = client.post(
        "/catalogue/device-types/",
        {
            "name": "Flowmeter X",
            "technology": "wM-Bus",
            "product_family": "RUBIN SONIC",
            "key_slots": ["OMS"],
        },
    )
    assert response.status_code == 302
    assert "Flowmeter X" in client.get("/catalogue/device-types/").content.decode()
    assert (
        "Flowmeter X"
        not in client_for(world.carol).get("/catalogue/device-types/").content.decode()
    )
    duplicate = client.post(
        "/catalogue/device-types/",
        {"name": "flowmeter x", "technology": "wM-Bus", "key_slots": ["OMS"]},
    )
    assert "exists already" in duplicate.content.decode()
