"""Who may download which keys: claim status, tenancy, key states, formats, roles.

Only devices CLAIMED by the actor's organisation or its subtree give keys, and only their
active keys. Everything else is left out with a reason; an id of another tenant's device is
reported exactly like an id that does not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from meterkms.batches.models import Batch
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.devices.enums import ClaimStatus, KeySlot
from meterkms.devices.models import DeviceKey, KeyState
from meterkms.keys import downloads
from meterkms.keys.downloads import DownloadOptions, Secret, Selection
from meterkms.keys.exports.protection import Protection, open_export
from meterkms.organisations.permissions import Role
from tests.keys.downloads.conftest import add_key, lora_device, wmbus_device
from tests.support.catalogue import make_device, make_label, shared_type
from tests.support.personas import World, make_user

pytestmark = pytest.mark.django_db

PLAIN = DownloadOptions(format="csv", protection=Protection.NONE)


def _deliver(actor: Any, selection: Selection, options: DownloadOptions = PLAIN) -> Any:
    with tenancy.acting_as(actor):
        return downloads.deliver(actor=actor, selection=selection, options=options, secret=Secret())


def _plain(format_name: str) -> DownloadOptions:
    return DownloadOptions(format=format_name, protection=Protection.NONE)


def _payload(delivery: Any) -> str:
    return open_export(delivery.content).payload.decode("utf-8-sig")


def _reasons(delivery: Any) -> dict[Any, str]:
    return {entry["device"]: entry["reason"] for entry in delivery.download.left_out}


@pytest.mark.parametrize(
    ("status", "leaves"),
    [(ClaimStatus.CLAIMED, True), (ClaimStatus.UNCLAIMED, False), (ClaimStatus.PENDING, False)],
)
def test_only_claimed_devices_give_their_keys(
    world: World, status: ClaimStatus, leaves: bool
) -> None:
    claimed = lora_device(world.org_a, "C-1")
    other = lora_device(world.org_a, "S-1", status=status)
    delivery = _deliver(world.olga, Selection.devices([claimed.device.pk, other.device.pk]))
    payload = _payload(delivery)
    assert claimed.keys[KeySlot.LORAWAN_APPKEY].hex().upper() in payload
    assert (other.keys[KeySlot.LORAWAN_APPKEY].hex().upper() in payload) is leaves
    if not leaves:
        assert delivery.download.left_out == [
            {"device": other.device.pk, "serial": "S-1", "reason": "not_claimed"}
        ]


def test_a_selection_of_only_unclaimed_devices_is_refused_without_a_record(world: World) -> None:
    unclaimed = lora_device(world.org_a, "U-1", status=ClaimStatus.UNCLAIMED)
    with pytest.raises(DomainError) as refused:
        _deliver(world.olga, Selection.devices([unclaimed.device.pk]))
    assert refused.value.code == "invalid"
    assert refused.value.details[0]["reason"] == "not_claimed"
    from meterkms.audit.models import AuditEvent
    from meterkms.keys.models import Download

    assert not Download._base_manager.exists()
    assert not AuditEvent._base_manager.filter(action="keys.downloaded").exists()


def test_a_foreign_device_is_reported_exactly_like_a_missing_one(world: World) -> None:
    mine = lora_device(world.org_a, "MINE-1")
    foreign = lora_device(world.org_b, "SECRET-B-1")
    missing = 987_654_321
    delivery = _deliver(world.olga, Selection.devices([mine.device.pk, foreign.device.pk, missing]))
    assert delivery.download.left_out == [
        {"device": foreign.device.pk, "reason": "not_found"},
        {"device": missing, "reason": "not_found"},
    ]
    payload = _payload(delivery)
    assert "SECRET-B-1" not in payload
    assert foreign.keys[KeySlot.LORAWAN_APPKEY].hex().upper() not in payload


def test_a_device_offered_to_the_organisation_is_visible_but_not_claimed(world: World) -> None:
    offered = lora_device(world.org_b, "OFFER-1", status=ClaimStatus.UNCLAIMED)
    offered.device.claimable_by = world.org_a
    offered.device.save(update_fields=["claimable_by"])
    mine = lora_device(world.org_a, "MINE-1")
    delivery = _deliver(world.olga, Selection.devices([mine.device.pk, offered.device.pk]))
    assert _reasons(delivery) == {offered.device.pk: "not_claimed"}


def test_a_device_claimed_by_someone_else_is_not_claimed_by_your_organisation(
    world: World,
) -> None:
    held = lora_device(world.org_b, "HELD-1")  # CLAIMED, but by org B
    held.device.claimable_by = world.org_a  # visible to A as an offer
    held.device.save(update_fields=["claimable_by"])
    mine = lora_device(world.org_a, "MINE-1")
    delivery = _deliver(world.olga, Selection.devices([mine.device.pk, held.device.pk]))
    assert _reasons(delivery) == {held.device.pk: "not_claimed"}
    assert held.keys[KeySlot.LORAWAN_APPKEY].hex().upper() not in _payload(delivery)


def test_the_subtree_counts_but_not_the_parent(world: World) -> None:
    child_device = lora_device(world.org_a_child, "CHILD-1")
    parent_device = lora_device(world.org_a, "PARENT-1")
    delivery = _deliver(world.olga, Selection.devices([child_device.device.pk]))
    assert "CHILD-1" in _payload(delivery)
    with tenancy.crossing("test set-up"):
        child_operator = make_user("child@example.com", world.org_a_child, Role.OPERATOR)
    delivery = _deliver(
        child_operator, Selection.devices([child_device.device.pk, parent_device.device.pk])
    )
    assert _reasons(delivery) == {parent_device.device.pk: "not_found"}


@pytest.mark.parametrize(
    "state",
    [KeyState.PRE_ACTIVE, KeyState.DEACTIVATED, KeyState.COMPROMISED, KeyState.DESTROYED],
)
def test_only_active_keys_leave(world: World, state: str) -> None:
    keyed = lora_device(world.org_a, "K-1")
    other = add_key(keyed.device, KeySlot.LORAWAN_NWKKEY, state=state)
    retired = lora_device(world.org_a, "K-2")
    retired_key = retired.keys[KeySlot.LORAWAN_APPKEY]
    DeviceKey._base_manager.filter(device=retired.device).update(state=state)
    delivery = _deliver(world.olga, Selection.devices([keyed.device.pk, retired.device.pk]))
    payload = _payload(delivery)
    assert keyed.keys[KeySlot.LORAWAN_APPKEY].hex().upper() in payload
    assert other.hex().upper() not in payload
    assert retired_key.hex().upper() not in payload
    assert _reasons(delivery) == {retired.device.pk: "no_active_key"}
    assert delivery.download.key_count == 1


def test_a_filter_selection_takes_what_the_device_list_shows(world: World) -> None:
    tagged = lora_device(world.org_a, "T-1")
    pending = lora_device(world.org_a, "T-2", status=ClaimStatus.PENDING)
    untagged = lora_device(world.org_a, "U-1")
    foreign = lora_device(world.org_b, "FOREIGN-1")
    label = make_label(world.org_a, "Hall 7", tagged.device, pending.device)
    make_label(world.org_b, "Hall 7", foreign.device)
    delivery = _deliver(world.olga, Selection.filtered({"label": str(label.pk)}))
    payload = _payload(delivery)
    assert "T-1" in payload
    assert "U-1" not in payload
    assert "FOREIGN-1" not in payload
    assert untagged.keys[KeySlot.LORAWAN_APPKEY].hex().upper() not in payload
    assert delivery.download.left_out == [
        {"device": pending.device.pk, "serial": "T-2", "reason": "not_claimed"}
    ]
    everything = _deliver(world.olga, Selection.filtered({}))
    assert everything.download.device_count == 2  # T-1 and U-1: claimed, of tree A
    assert everything.download.left_out_count == 1


def test_an_invalid_filter_is_refused(world: World) -> None:
    lora_device(world.org_a, "T-1")
    foreign_label = make_label(world.org_b, "B only")
    with pytest.raises(DomainError) as refused:
        _deliver(world.olga, Selection.filtered({"label": str(foreign_label.pk)}))
    assert refused.value.code == "invalid"


def test_a_batch_gives_its_claimed_devices_and_a_foreign_batch_does_not_exist(
    world: World,
) -> None:
    batch = Batch._base_manager.create(reference="B-7", creator=world.org_a, recipient=world.org_a)
    foreign_batch = Batch._base_manager.create(
        reference="B-8", creator=world.org_b, recipient=world.org_b
    )
    inside = lora_device(world.org_a, "IN-1", batch=batch)
    lora_device(world.org_a, "OUT-1")
    delivery = _deliver(world.olga, Selection.batch(batch.pk))
    assert "IN-1" in _payload(delivery)
    assert "OUT-1" not in _payload(delivery)
    assert inside.device.pk not in _reasons(delivery)
    for batch_id in (foreign_batch.pk, 987_654_321):
        with pytest.raises(DomainError) as refused:
            _deliver(world.olga, Selection.batch(batch_id))
        assert refused.value.code == "not_found"


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("alice", True), ("adam", True), ("olga", True), ("bob", False)],
)
def test_only_roles_with_keys_download_may_download(
    world: World, persona: str, allowed: bool
) -> None:
    keyed = lora_device(world.org_a, "R-1")
    actor = world.people[persona]
    if allowed:
        assert "R-1" in _payload(_deliver(actor, Selection.devices([keyed.device.pk])))
        return
    with pytest.raises(DomainError) as refused:
        _deliver(actor, Selection.devices([keyed.device.pk]))
    assert refused.value.code == "forbidden"


def test_another_tree_gets_nothing_of_ours(world: World) -> None:
    ours = lora_device(world.org_a, "OURS-1")
    with pytest.raises(DomainError) as refused:
        _deliver(world.carol, Selection.devices([ours.device.pk]))
    assert refused.value.details == [
        {"device": ours.device.pk, "reason": "not_found", "message": "not found"}
    ]


def test_format_rules_leave_out_devices_the_format_cannot_hold(world: World) -> None:
    single = wmbus_device(world.org_a, "W-1", address="00000001")
    double = wmbus_device(world.org_a, "W-2", address="00000002")
    add_key(double.device, KeySlot.MBUS)
    no_address = wmbus_device(world.org_a, "W-3", address="")
    lora = lora_device(world.org_a, "L-1")
    ids = [single.device.pk, double.device.pk, no_address.device.pk, lora.device.pk]
    keylist = _deliver(world.olga, Selection.devices(ids), _plain("keylist"))
    assert _reasons(keylist) == {double.device.pk: "format", lora.device.pk: "format"}
    meters = _deliver(world.olga, Selection.devices(ids), _plain("wmbusmeters"))
    assert _reasons(meters) == {
        double.device.pk: "format",
        no_address.device.pk: "format",
        lora.device.pk: "format",
    }


def test_chirpstack_and_the_things_stack_need_their_identifiers_and_keys(world: World) -> None:
    plain = lora_device(world.org_a, "L-1")
    both = lora_device(world.org_a, "L-2", nwk_key=True)  # 1.0.4 with a NwkKey as well
    no_eui = lora_device(world.org_a, "L-3", dev_eui="")
    full = lora_device(world.org_a, "L-4", version="1.1", nwk_key=True)
    ids = [keyed.device.pk for keyed in (plain, both, no_eui, full)]
    chirpstack = _deliver(world.olga, Selection.devices(ids), _plain("chirpstack"))
    assert _reasons(chirpstack) == {both.device.pk: "format", no_eui.device.pk: "format"}
    tts = _deliver(world.olga, Selection.devices(ids), _plain("tts-json"))
    assert _reasons(tts) == {no_eui.device.pk: "format"}


def test_a_second_device_with_the_same_serial_is_left_out(world: World) -> None:
    first = lora_device(world.org_a, "SAME-1")
    second = make_device(
        world.org_a,
        "SAME-1",
        manufacturer=world.org_a_child,
        device_type=shared_type("TOPAS Lora W8"),
        claim_status=ClaimStatus.CLAIMED.value,
    )
    add_key(second, KeySlot.LORAWAN_APPKEY)
    delivery = _deliver(world.olga, Selection.devices([first.device.pk, second.pk]))
    assert delivery.download.key_count == 1
    assert _reasons(delivery) == {max(first.device.pk, second.pk): "duplicate_serial"}


def test_labels_in_the_file_are_only_those_of_the_own_tree(world: World) -> None:
    keyed = lora_device(world.org_a, "LBL-1")
    make_label(world.org_a, "Ours", keyed.device)
    make_label(world.org_b, "Theirs", keyed.device)
    payload = _payload(_deliver(world.olga, Selection.devices([keyed.device.pk])))
    assert '"Ours"' in payload
    assert "Theirs" not in payload
