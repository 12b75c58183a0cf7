"""Claiming devices and batches, confirming and rejecting: states, history, audit, refusals."""

from __future__ import annotations

import pytest

from meterkms.audit.models import AuditEvent
from meterkms.batches import claims
from meterkms.batches.models import Batch, ClaimRequest, ConfirmationState
from meterkms.batches.services import (
    claim_batch,
    claim_devices,
    confirm_request,
    create_batch,
    reject_request,
)
from meterkms.core.errors import DomainError
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.models import Device, DeviceEvent
from meterkms.devices.queries import claimed_by_subtree
from tests.batches.helpers import devices, fresh, partner, state, typed
from tests.support.catalogue import make_device
from tests.support.personas import World

pytestmark = pytest.mark.django_db


def _ship(world: World, count: int = 3, *, confirm: bool = False, reference: str = "LOT") -> Batch:
    """``count`` devices of org A offered to org B (a partner) in one batch."""
    devices(world.org_a, reference, count)
    partner(world.org_a, world.org_b)
    serials = [f"{reference}{i:04d}" for i in range(1, count + 1)]
    return create_batch(
        actor=fresh(world.alice),
        reference=reference,
        recipient=world.org_b,
        serials=typed(*serials),
        needs_confirmation=confirm,
    )


def _batch_devices(batch: Batch) -> list[Device]:
    return list(Device._base_manager.filter(batch=batch).order_by("serial"))


# --- the state machine -----------------------------------------------------------------------


def test_the_state_machine_allows_exactly_the_documented_status_changes() -> None:
    statuses = [status.value for status in ClaimStatus]
    allowed = {(a, b) for a in statuses for b in statuses if claims.allowed(a, b)}
    assert allowed == {
        ("UNCLAIMED", "UNCLAIMED"),  # offered in a batch, or handed over
        ("CLAIMED", "UNCLAIMED"),  # offered again, or handed over
        ("UNCLAIMED", "CLAIMED"),  # claimed (own device or an offer without confirmation)
        ("UNCLAIMED", "PENDING"),  # claimed, the sender must confirm
        ("PENDING", "CLAIMED"),  # confirmed
        ("PENDING", "UNCLAIMED"),  # rejected
    }


def test_every_transition_repeats_its_source_state_in_its_guard() -> None:
    for transition in claims.TRANSITIONS.values():
        for source in transition.sources:
            assert f"'{source}'" in transition.guard, transition.step


def test_a_transition_that_misses_a_device_changes_nothing(world: World) -> None:
    device = make_device(world.org_a, "S1", claim_status=ClaimStatus.CLAIMED.value)
    other = make_device(world.org_a, "S2")
    with pytest.raises(claims.Conflict):
        claims.apply(claims.Step.CLAIM_OWN, [other.pk, device.pk], owner=claims_owner(world.org_a))
    # The caller's transaction rolls back: in a test the first chunk is the whole list.
    assert state(device)[0] == "CLAIMED"


def claims_owner(organisation: object) -> object:
    from meterkms.batches.bulk import org_value

    return org_value(organisation.pk)  # type: ignore[attr-defined]


# --- claiming without confirmation -----------------------------------------------------------


def test_claiming_a_batch_makes_its_devices_claimed_and_owned_by_the_recipient(
    world: World,
) -> None:
    batch = _ship(world)
    outcome = claim_batch(actor=fresh(world.cecil), batch=batch)
    assert (outcome.claimed, outcome.pending, outcome.requests) == (3, 0, [])
    for device in _batch_devices(batch):
        assert state(device) == ("CLAIMED", world.org_b.pk, None, batch.pk)
    batch.refresh_from_db()
    assert not batch.is_open
    assert batch.confirmation_state == ConfirmationState.NONE
    assert claimed_by_subtree(Device._base_manager.all(), fresh(world.cecil)).count() == 3
    # The sender lost the devices at once.
    assert not Device.objects.visible_to(fresh(world.alice)).filter(batch=batch).exists()


def test_a_claim_is_in_the_history_and_once_in_the_audit_log(world: World) -> None:
    batch = _ship(world)
    claim_batch(actor=fresh(world.cecil), batch=batch)
    lines = DeviceEvent._base_manager.filter(action="device.claimed")
    assert lines.count() == 3
    assert {line.organisation_name for line in lines} == {world.org_b.name}
    event = AuditEvent._base_manager.get(action="device.claimed")
    assert event.data == {"devices": 3, "batches": ["LOT"]}
    assert event.target_id == str(batch.pk)
    assert event.organisation_name == world.org_b.name


def test_claiming_one_device_leaves_the_batch_open(world: World) -> None:
    batch = _ship(world)
    first = _batch_devices(batch)[0]
    outcome = claim_devices(actor=fresh(world.cecil), device_ids=[first.pk])
    assert outcome.claimed == 1
    assert state(first)[0] == "CLAIMED"
    batch.refresh_from_db()
    assert batch.is_open
    event = AuditEvent._base_manager.get(action="device.claimed")
    assert event.target_id == str(first.pk)


def test_an_owner_claims_its_own_unclaimed_devices(world: World) -> None:
    own = make_device(world.org_a_child, "OWN1")
    outcome = claim_devices(actor=fresh(world.olga), device_ids=[own.pk])
    assert outcome.claimed == 1
    assert state(own) == ("CLAIMED", world.org_a_child.pk, None, None)


def test_a_parent_claims_an_offer_for_its_sub_organisation(world: World) -> None:
    devices(world.org_a, "C", 1)
    batch = create_batch(
        actor=fresh(world.alice), reference="K", recipient=world.org_a_child, serials=typed("C0001")
    )
    claim_batch(actor=fresh(world.olga), batch=batch)
    # The offer was to the sub-organisation: it owns the device now.
    assert state(_batch_devices(batch)[0])[:2] == ("CLAIMED", world.org_a_child.pk)


# --- claiming with confirmation --------------------------------------------------------------


def test_with_confirmation_a_claim_makes_the_devices_pending_and_opens_a_request(
    world: World,
) -> None:
    batch = _ship(world, confirm=True)
    outcome = claim_batch(actor=fresh(world.cecil), batch=batch)
    assert (outcome.claimed, outcome.pending) == (0, 3)
    request = outcome.requests[0]
    assert (request.state, request.device_count) == ("open", 3)
    assert request.organisation_id == world.org_b.pk
    assert request.creator_id == world.org_a.pk
    for device in _batch_devices(batch):
        assert state(device) == ("PENDING", world.org_a.pk, world.org_b.pk, batch.pk)
    batch.refresh_from_db()
    assert (batch.confirmation_state, batch.is_open) == ("requested", True)
    # Both sides still see the devices; nobody may download their keys.
    for person in (world.alice, world.cecil):
        assert Device.objects.visible_to(fresh(person)).filter(batch=batch).count() == 3
        assert not claimed_by_subtree(Device._base_manager.filter(batch=batch), fresh(person))
    event = AuditEvent._base_manager.get(action="claim.requested")
    assert event.target_id == str(request.pk)
    assert DeviceEvent._base_manager.filter(action="claim.requested").count() == 3


def test_claims_while_a_request_is_open_join_it(world: World) -> None:
    batch = _ship(world, confirm=True)
    first, second, _third = _batch_devices(batch)
    claim_devices(actor=fresh(world.cecil), device_ids=[first.pk])
    claim_devices(actor=fresh(world.carol), device_ids=[second.pk])
    request = ClaimRequest._base_manager.get(batch=batch)
    assert (request.state, request.device_count) == ("open", 2)


def test_confirming_makes_the_devices_claimed_by_the_recipient(world: World) -> None:
    batch = _ship(world, confirm=True)
    request = claim_batch(actor=fresh(world.cecil), batch=batch).requests[0]
    decided = confirm_request(actor=fresh(world.alice), request=request, note="paid")
    assert (decided.state, decided.decided_by_id, decided.note) == (
        "confirmed",
        world.alice.pk,
        "paid",
    )
    for device in _batch_devices(batch):
        assert state(device) == ("CLAIMED", world.org_b.pk, None, batch.pk)
    batch.refresh_from_db()
    assert (batch.confirmation_state, batch.is_open) == ("confirmed", False)
    assert claimed_by_subtree(Device._base_manager.all(), fresh(world.cecil)).count() == 3
    event = AuditEvent._base_manager.get(action="claim.confirmed")
    assert event.data == {"devices": 3, "batch": "LOT", "note": "paid"}
    assert DeviceEvent._base_manager.filter(action="claim.confirmed").count() == 3


def test_rejecting_returns_the_devices_to_the_sender_no_longer_offered(world: World) -> None:
    batch = _ship(world, confirm=True)
    request = claim_batch(actor=fresh(world.cecil), batch=batch).requests[0]
    reject_request(actor=fresh(world.alice), request=request, note="unknown customer")
    for device in _batch_devices(batch):
        assert state(device) == ("UNCLAIMED", world.org_a.pk, None, batch.pk)
    batch.refresh_from_db()
    assert (batch.confirmation_state, batch.is_open) == ("rejected", False)
    assert not Device.objects.visible_to(fresh(world.cecil)).filter(batch=batch).exists()
    assert AuditEvent._base_manager.filter(action="claim.rejected").count() == 1
    # The sender may offer them again.
    again = create_batch(
        actor=fresh(world.alice),
        reference="LOT-AGAIN",
        recipient=world.org_b,
        serials=typed("LOT0001"),
    )
    assert again.device_count == 1


def test_a_request_is_decided_once(world: World) -> None:
    batch = _ship(world, confirm=True)
    request = claim_batch(actor=fresh(world.cecil), batch=batch).requests[0]
    confirm_request(actor=fresh(world.alice), request=request)
    for decide in (confirm_request, reject_request):
        with pytest.raises(claims.Conflict):
            decide(actor=fresh(world.alice), request=request)
    assert AuditEvent._base_manager.filter(action__startswith="claim.").count() == 2


def test_the_recipient_cannot_decide_its_own_request(world: World) -> None:
    batch = _ship(world, confirm=True)
    request = claim_batch(actor=fresh(world.cecil), batch=batch).requests[0]
    with pytest.raises(DomainError) as excinfo:
        confirm_request(actor=fresh(world.carol), request=request)
    assert excinfo.value.code == "forbidden"
    assert ClaimRequest._base_manager.get(pk=request.pk).state == "open"


@pytest.mark.parametrize(("persona", "allowed"), [("alice", True), ("adam", False), ("bob", False)])
def test_only_confirmers_of_the_sender_decide(world: World, persona: str, allowed: bool) -> None:
    batch = _ship(world, confirm=True)
    request = claim_batch(actor=fresh(world.cecil), batch=batch).requests[0]
    if allowed:
        assert confirm_request(actor=fresh(world.people[persona]), request=request).state == (
            "confirmed"
        )
    else:
        with pytest.raises(DomainError) as excinfo:
            confirm_request(actor=fresh(world.people[persona]), request=request)
        assert excinfo.value.code == "forbidden"


# --- refusals --------------------------------------------------------------------------------


def test_a_claimed_device_cannot_be_claimed_again(world: World) -> None:
    batch = _ship(world)
    first = _batch_devices(batch)[0]
    claim_devices(actor=fresh(world.cecil), device_ids=[first.pk])
    with pytest.raises(claims.Conflict) as excinfo:
        claim_devices(actor=fresh(world.carol), device_ids=[first.pk])
    assert excinfo.value.status == 409
    assert excinfo.value.details == [{"serial": "LOT0001", "message": "claimed already"}]
    assert AuditEvent._base_manager.filter(action="device.claimed").count() == 1


def test_one_unclaimable_device_stops_the_whole_selection(world: World) -> None:
    batch = _ship(world, confirm=True)
    first, second, _third = _batch_devices(batch)
    claim_devices(actor=fresh(world.cecil), device_ids=[first.pk])
    with pytest.raises(claims.Conflict) as excinfo:
        claim_devices(actor=fresh(world.cecil), device_ids=[first.pk, second.pk])
    assert excinfo.value.details == [
        {"serial": "LOT0001", "message": "the claim waits for confirmation"}
    ]
    assert state(second)[0] == "UNCLAIMED"


def test_the_sender_cannot_claim_its_own_offer(world: World) -> None:
    batch = _ship(world)
    with pytest.raises(DomainError) as excinfo:
        claim_devices(actor=fresh(world.olga), device_ids=[_batch_devices(batch)[0].pk])
    assert excinfo.value.details[0]["message"] == (
        "offered to another organisation in an open batch"
    )
    with pytest.raises(DomainError):
        claim_batch(actor=fresh(world.olga), batch=batch)


def test_a_foreign_device_answers_like_a_missing_one(world: World) -> None:
    foreign = make_device(world.org_b, "B-ONLY")
    errors = []
    for pk in (foreign.pk, 987_654_321):
        with pytest.raises(DomainError) as excinfo:
            claim_devices(actor=fresh(world.olga), device_ids=[pk])
        errors.append((excinfo.value.code, excinfo.value.message, excinfo.value.details))
    assert errors[0] == errors[1]
    assert errors[0][0] == "not_found"


def test_an_empty_batch_claim_is_a_conflict(world: World) -> None:
    batch = _ship(world)
    claim_batch(actor=fresh(world.cecil), batch=batch)
    with pytest.raises(claims.Conflict):
        claim_batch(actor=fresh(world.cecil), batch=batch)


@pytest.mark.parametrize(("persona", "allowed"), [("carol", True), ("cecil", True)])
def test_admins_and_operators_claim(world: World, persona: str, allowed: bool) -> None:
    batch = _ship(world)
    assert claim_batch(actor=fresh(world.people[persona]), batch=batch).claimed == 3


def test_viewers_do_not_claim(world: World) -> None:
    own = make_device(world.org_a, "V1")
    with pytest.raises(DomainError) as excinfo:
        claim_devices(actor=fresh(world.bob), device_ids=[own.pk])
    assert excinfo.value.code == "forbidden"
    assert state(own)[0] == "UNCLAIMED"


def test_a_device_sits_in_one_open_batch_at_a_time(world: World) -> None:
    _ship(world, count=1)
    with pytest.raises(DomainError) as excinfo:
        create_batch(
            actor=fresh(world.alice),
            reference="SECOND",
            recipient=world.org_a_child,
            serials=typed("LOT0001"),
        )
    assert excinfo.value.details[0]["message"] == "the device is already in an open batch"
    assert Batch._base_manager.count() == 1
