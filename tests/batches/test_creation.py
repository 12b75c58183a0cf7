"""Creating a batch: the happy path, every refusal, the email, history and audit."""

from __future__ import annotations

import pytest
from django.core import mail

from meterkms.audit.models import AuditEvent
from meterkms.batches.models import Batch, ConfirmationState
from meterkms.batches.services import create_batch
from meterkms.core.errors import DomainError
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.models import DeviceEvent
from meterkms.emails.models import OutboxMessage
from meterkms.organisations.permissions import Role
from tests.batches.helpers import devices, fresh, partner, state, typed
from tests.support.catalogue import make_device
from tests.support.personas import World, make_user

pytestmark = pytest.mark.django_db


def test_a_batch_offers_the_devices_to_the_recipient_and_keeps_them_unclaimed(
    world: World,
) -> None:
    stock = devices(world.org_a, "A", 3)
    batch = create_batch(
        actor=fresh(world.alice),
        reference="LOT-1",
        recipient=world.org_a_child,
        serials=typed("A0001", "A0002", "A0003"),
        label="spring",
    )
    assert (batch.reference, batch.label, batch.device_count) == ("LOT-1", "spring", 3)
    assert batch.creator_id == world.org_a.pk
    assert batch.is_open
    assert batch.confirmation_state == ConfirmationState.NONE
    for device in stock:
        assert state(device) == ("UNCLAIMED", world.org_a.pk, world.org_a_child.pk, batch.pk)


def test_a_claimed_device_of_the_creator_becomes_unclaimed_when_offered(world: World) -> None:
    device = make_device(world.org_a, "C1", claim_status=ClaimStatus.CLAIMED.value)
    create_batch(
        actor=fresh(world.alice), reference="R", recipient=world.org_a_child, serials=typed("C1")
    )
    assert state(device)[0] == "UNCLAIMED"


def test_creation_writes_history_and_one_audit_event(world: World) -> None:
    stock = devices(world.org_a, "A", 2)
    batch = create_batch(
        actor=fresh(world.adam),
        reference="LOT-2",
        recipient=world.org_a_child,
        serials=typed("A0001", "A0002"),
    )
    history = DeviceEvent._base_manager.filter(device__in=stock, action="batch.created")
    assert history.count() == 2
    line = history.first()
    assert line.details == {"batch": "LOT-2", "recipient": world.org_a_child.name}
    assert line.actor_label == f"{world.adam.name} <{world.adam.email}>"
    assert line.organisation_name == world.org_a.name
    events = AuditEvent._base_manager.filter(action="batch.created")
    assert events.count() == 1
    event = events.get()
    assert event.target_id == str(batch.pk)
    assert event.data == {
        "devices": 2,
        "recipient": world.org_a_child.name,
        "needs_confirmation": False,
    }


def test_recipient_admins_get_the_new_batch_email_after_commit(
    world: World, django_capture_on_commit_callbacks
) -> None:
    devices(world.org_a, "A", 2)
    partner(world.org_a, world.org_b)
    retired = make_user("retired@example.com", world.org_b, Role.ADMIN)
    type(retired)._base_manager.filter(pk=retired.pk).update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        batch = create_batch(
            actor=fresh(world.alice),
            reference="SHIP-7",
            recipient=world.org_b,
            serials=typed("A0001", "A0002"),
        )
    messages = OutboxMessage._base_manager.filter(kind="new_batch")
    # carol is org B's only active administrator; cecil is an operator.
    assert list(messages.values_list("to_email", flat=True)) == [world.carol.email]
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [f"Carol <{world.carol.email}>"]
    assert "SHIP-7" in sent.body
    assert f"/catalogue/batches/{batch.pk}/" in sent.body


def test_nothing_is_queued_when_the_batch_is_refused(world: World) -> None:
    with pytest.raises(DomainError):
        create_batch(
            actor=fresh(world.alice),
            reference="X",
            recipient=world.org_a_child,
            serials=typed("NOPE"),
        )
    assert not OutboxMessage._base_manager.filter(kind="new_batch").exists()
    assert not Batch._base_manager.exists()


def _problems(excinfo: pytest.ExceptionInfo[DomainError]) -> list[tuple[int, int, str]]:
    return [(d["line"], d["column"], d["message"]) for d in excinfo.value.details]


def test_every_problem_is_reported_with_its_position_and_nothing_is_created(
    world: World,
) -> None:
    devices(world.org_a, "A", 2)
    make_device(world.org_a_child, "CHILD1")
    make_device(world.org_b, "FOREIGN1")
    offered = make_device(world.org_a, "OFFERED")
    create_batch(
        actor=fresh(world.alice),
        reference="OLD",
        recipient=world.org_a_child,
        serials=typed("OFFERED"),
    )
    text = "A0001, A0002, A0001, NOPE, CHILD1, FOREIGN1, OFFERED, bad serial"
    from meterkms.batches.serials import read_text

    with pytest.raises(DomainError) as excinfo:
        create_batch(
            actor=fresh(world.alice),
            reference="NEW",
            recipient=world.org_a_child,
            serials=read_text(text, source="typed input"),
        )
    assert excinfo.value.code == "invalid"
    assert _problems(excinfo) == [
        (1, 15, "listed twice (first in line 1, column 1)"),
        (1, 22, "unknown serial number"),
        (1, 28, "the device belongs to another organisation"),
        (1, 36, "unknown serial number"),
        (1, 46, "the device is already in an open batch"),
        (1, 55, "not a valid serial number"),
    ]
    assert excinfo.value.message == "6 problems: nothing was changed."
    assert not Batch._base_manager.filter(reference="NEW").exists()
    assert state(offered)[3] == Batch._base_manager.get(reference="OLD").pk


def test_a_foreign_device_is_reported_exactly_like_a_missing_one(world: World) -> None:
    make_device(world.org_b, "SECRET")
    answers = []
    for serial in ("SECRET", "MISSING"):
        with pytest.raises(DomainError) as excinfo:
            create_batch(
                actor=fresh(world.alice),
                reference="R",
                recipient=world.org_a_child,
                serials=typed(serial),
            )
        detail = dict(excinfo.value.details[0])
        detail.pop("serial")
        answers.append((excinfo.value.message, detail))
    assert answers[0] == answers[1]


def test_a_serial_shared_by_two_manufacturers_picks_the_creators_device(world: World) -> None:
    own = make_device(world.org_a, "TWIN")
    offered = make_device(world.org_b, "TWIN")
    partner(world.org_a, world.org_b)
    # org B offers its TWIN to org A: org A sees two devices named TWIN.
    create_batch(
        actor=fresh(world.carol), reference="B1", recipient=world.org_a, serials=typed("TWIN")
    )
    batch = create_batch(
        actor=fresh(world.alice), reference="A1", recipient=world.org_a_child, serials=typed("TWIN")
    )
    assert state(own)[3] == batch.pk
    assert state(offered)[2] == world.org_a.pk


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reference": "   "}, "reference"),
        ({"reference": "x" * 101}, "reference"),
        ({"label": "y" * 101}, "label"),
    ],
)
def test_reference_and_label_are_checked(world: World, kwargs: dict, field: str) -> None:
    devices(world.org_a, "A", 1)
    arguments = {
        "actor": fresh(world.alice),
        "reference": "R",
        "recipient": world.org_a_child,
        "serials": typed("A0001"),
        **kwargs,
    }
    with pytest.raises(DomainError) as excinfo:
        create_batch(**arguments)
    assert excinfo.value.details[0]["field"] == field


def test_the_reference_is_unique_per_creator(world: World) -> None:
    devices(world.org_a, "A", 2)
    create_batch(
        actor=fresh(world.alice),
        reference="DUP",
        recipient=world.org_a_child,
        serials=typed("A0001"),
    )
    with pytest.raises(DomainError) as excinfo:
        create_batch(
            actor=fresh(world.alice),
            reference="DUP",
            recipient=world.org_a_child,
            serials=typed("A0002"),
        )
    assert excinfo.value.code == "conflict"
    assert excinfo.value.details[0]["field"] == "reference"


def test_the_recipient_must_be_of_the_tree_or_a_partner(world: World) -> None:
    devices(world.org_a, "A", 1)
    for recipient in (world.org_b, world.org_a):
        with pytest.raises(DomainError) as excinfo:
            create_batch(
                actor=fresh(world.alice),
                reference="R",
                recipient=recipient,
                serials=typed("A0001"),
            )
        assert excinfo.value.details[0]["field"] == "recipient"


def test_an_empty_list_is_refused(world: World) -> None:
    with pytest.raises(DomainError) as excinfo:
        create_batch(
            actor=fresh(world.alice), reference="R", recipient=world.org_a_child, serials=[]
        )
    assert excinfo.value.details[0]["field"] == "serials"


def test_confirmation_needs_someone_who_may_confirm(world: World) -> None:
    # org B has no OTC admin: nobody there (or above) may confirm claim requests.
    devices(world.org_b, "B", 1)
    partner(world.org_a, world.org_b)
    with pytest.raises(DomainError) as excinfo:
        create_batch(
            actor=fresh(world.carol),
            reference="R",
            recipient=world.org_a,
            serials=typed("B0001"),
            needs_confirmation=True,
        )
    assert excinfo.value.details[0]["field"] == "needs_confirmation"


@pytest.mark.parametrize(
    ("persona", "allowed"), [("alice", True), ("adam", True), ("olga", False), ("bob", False)]
)
def test_only_admins_create_batches(world: World, persona: str, allowed: bool) -> None:
    devices(world.org_a, "A", 1)
    arguments = {
        "actor": fresh(world.people[persona]),
        "reference": "R",
        "recipient": world.org_a_child,
        "serials": typed("A0001"),
    }
    if allowed:
        assert create_batch(**arguments).device_count == 1
    else:
        with pytest.raises(DomainError) as excinfo:
            create_batch(**arguments)
        assert excinfo.value.code == "forbidden"
