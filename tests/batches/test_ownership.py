"""Handing devices over: to partners and sub-organisations, back again, and every refusal."""

from __future__ import annotations

import pytest

from meterkms.audit.models import AuditEvent
from meterkms.batches.models import OwnershipTransfer
from meterkms.batches.serials import read_text
from meterkms.batches.services import claim_devices, create_batch, transfer_ownership
from meterkms.core.errors import DomainError
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.models import Device, DeviceEvent
from meterkms.devices.queries import claimed_by_subtree
from tests.batches.helpers import devices, fresh, partner, state, typed
from tests.support.catalogue import make_device
from tests.support.personas import World

pytestmark = pytest.mark.django_db

CLAIMED = ClaimStatus.CLAIMED.value


def test_a_hand_over_to_a_partner_moves_ownership_and_leaves_them_unclaimed(
    world: World,
) -> None:
    partner(world.org_a, world.org_b)
    stock = devices(world.org_a, "H", 2, claim_status=CLAIMED)
    transfer = transfer_ownership(
        actor=fresh(world.adam),
        receiver=world.org_b,
        reason="Service contract 42",
        device_ids=[device.pk for device in stock],
    )
    assert (transfer.device_count, transfer.reason) == (2, "Service contract 42")
    assert transfer.previous_owners == [world.org_a.name]
    for device in stock:
        assert state(device) == ("UNCLAIMED", world.org_b.pk, None, None)
    # The previous owner lost them at once; the receiver sees them but has no keys yet.
    assert not Device.objects.visible_to(fresh(world.alice)).filter(serial__startswith="H").exists()
    assert Device.objects.visible_to(fresh(world.carol)).filter(serial__startswith="H").count() == 2
    assert not claimed_by_subtree(Device._base_manager.all(), fresh(world.carol)).exists()
    # It claims them like its own.
    claim_devices(actor=fresh(world.cecil), device_ids=[device.pk for device in stock])
    assert claimed_by_subtree(Device._base_manager.all(), fresh(world.cecil)).count() == 2


def test_a_hand_over_is_in_the_history_and_the_audit_log(world: World) -> None:
    device = make_device(world.org_a, "H1", claim_status=CLAIMED)
    transfer = transfer_ownership(
        actor=fresh(world.adam),
        receiver=world.org_a_child,
        reason="to the service team",
        serials=typed("H1"),
    )
    line = DeviceEvent._base_manager.get(device=device, action="ownership.transferred")
    assert line.details == {
        "previous_owner": world.org_a.name,
        "receiver": world.org_a_child.name,
        "reason": "to the service team",
        "transfer": transfer.pk,
    }
    event = AuditEvent._base_manager.get(action="ownership.transferred")
    assert event.target_id == str(transfer.pk)
    assert event.data["devices"] == 1


def test_devices_are_taken_back_from_a_sub_organisation(world: World) -> None:
    device = make_device(world.org_a_child, "BACK1", claim_status=CLAIMED)
    transfer_ownership(
        actor=fresh(world.adam), receiver=world.org_a, reason="returned", serials=typed("BACK1")
    )
    assert state(device) == ("UNCLAIMED", world.org_a.pk, None, None)
    assert OwnershipTransfer._base_manager.get().previous_owners == [world.org_a_child.name]


def test_a_hand_over_detaches_the_devices_from_their_batch(world: World) -> None:
    partner(world.org_a, world.org_b)
    devices(world.org_a, "D", 1)
    batch = create_batch(
        actor=fresh(world.alice), reference="B", recipient=world.org_a_child, serials=typed("D0001")
    )
    device = Device._base_manager.get(batch=batch)
    claim_devices(actor=fresh(world.olga), device_ids=[device.pk])
    transfer_ownership(
        actor=fresh(world.adam), receiver=world.org_b, reason="r", device_ids=[device.pk]
    )
    assert state(device) == ("UNCLAIMED", world.org_b.pk, None, None)


def test_every_problem_of_a_serial_list_is_reported_and_nothing_moves(world: World) -> None:
    partner(world.org_a, world.org_b)
    make_device(world.org_a, "OK1", claim_status=CLAIMED)
    make_device(world.org_b, "THEIRS")
    offered = make_device(world.org_a, "OFFER1")
    create_batch(
        actor=fresh(world.alice),
        reference="X",
        recipient=world.org_a_child,
        serials=typed("OFFER1"),
    )
    with pytest.raises(DomainError) as excinfo:
        transfer_ownership(
            actor=fresh(world.adam),
            receiver=world.org_b,
            reason="r",
            serials=read_text("OK1\nTHEIRS\nOFFER1\nOK1", source="list"),
        )
    found = [(d["line"], d["message"]) for d in excinfo.value.details]
    assert found == [
        (2, "unknown serial number"),
        (3, "the device is in an open batch"),
        (4, "listed twice (first in line 1, column 1)"),
    ]
    assert state(offered)[2] == world.org_a_child.pk
    assert not OwnershipTransfer._base_manager.exists()


def test_the_receiver_must_be_of_the_tree_or_a_partner(world: World) -> None:
    device = make_device(world.org_a, "R1", claim_status=CLAIMED)
    with pytest.raises(DomainError) as excinfo:
        transfer_ownership(
            actor=fresh(world.adam), receiver=world.org_b, reason="r", device_ids=[device.pk]
        )
    assert excinfo.value.details[0]["field"] == "receiver"


def test_a_reason_is_required(world: World) -> None:
    device = make_device(world.org_a, "R2", claim_status=CLAIMED)
    with pytest.raises(DomainError) as excinfo:
        transfer_ownership(
            actor=fresh(world.adam), receiver=world.org_a_child, reason=" ", device_ids=[device.pk]
        )
    assert excinfo.value.details[0]["field"] == "reason"


def test_a_device_already_with_the_receiver_is_refused(world: World) -> None:
    device = make_device(world.org_a_child, "R3", claim_status=CLAIMED)
    with pytest.raises(DomainError) as excinfo:
        transfer_ownership(
            actor=fresh(world.adam), receiver=world.org_a_child, reason="r", device_ids=[device.pk]
        )
    assert excinfo.value.details[0]["message"] == "the device belongs to the receiver already"


def test_a_foreign_device_id_answers_like_a_missing_one(world: World) -> None:
    foreign = make_device(world.org_b, "F1", claim_status=CLAIMED)
    answers = []
    for pk in (foreign.pk, 987_654_321):
        with pytest.raises(DomainError) as excinfo:
            transfer_ownership(
                actor=fresh(world.adam), receiver=world.org_a_child, reason="r", device_ids=[pk]
            )
        answers.append((excinfo.value.code, excinfo.value.message))
    assert answers == [("not_found", "Not found."), ("not_found", "Not found.")]


@pytest.mark.parametrize(
    ("persona", "allowed"), [("alice", True), ("adam", True), ("olga", False), ("bob", False)]
)
def test_only_admins_hand_over(world: World, persona: str, allowed: bool) -> None:
    device = make_device(world.org_a, "P1", claim_status=CLAIMED)
    arguments = {
        "actor": fresh(world.people[persona]),
        "receiver": world.org_a_child,
        "reason": "r",
        "device_ids": [device.pk],
    }
    if allowed:
        assert transfer_ownership(**arguments).device_count == 1
    else:
        with pytest.raises(DomainError) as excinfo:
            transfer_ownership(**arguments)
        assert excinfo.value.code == "forbidden"


def test_an_organisation_named_in_a_hand_over_cannot_be_deleted(world: World) -> None:
    from meterkms.organisations.services import delete_organisation

    device = make_device(world.org_a, "DEL1", claim_status=CLAIMED)
    transfer_ownership(
        actor=fresh(world.adam), receiver=world.org_a_child, reason="r", device_ids=[device.pk]
    )
    transfer_ownership(
        actor=fresh(world.adam), receiver=world.org_a, reason="back", device_ids=[device.pk]
    )
    # The sub-organisation owns nothing now, but the hand-over records keep its name.
    with pytest.raises(DomainError) as excinfo:
        delete_organisation(actor=fresh(world.alice), organisation=world.org_a_child)
    assert excinfo.value.code == "conflict"
    assert OwnershipTransfer._base_manager.count() == 2
