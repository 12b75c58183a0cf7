"""Partners: paste an ID, both sides see the link, either side removes it; recipients."""

from __future__ import annotations

import uuid

import pytest

from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.organisations import services
from meterkms.organisations.models import Organisation, Partnership
from meterkms.organisations.permissions import Role
from meterkms.organisations.queries import partner_ids, recipient_choices
from tests.admin_menu.helpers import fresh_child, fresh_root, fresh_user, link_between
from tests.support.personas import World


def _links() -> int:
    return Partnership._base_manager.count()


@pytest.mark.django_db
def test_pasting_an_id_links_both_sides_and_both_see_it(world: World) -> None:
    link = services.add_partner(actor=world.adam, partner_id=f"  {world.org_b.pk}  ")
    assert {link.first_id, link.second_id} == {world.org_a.pk, world.org_b.pk}
    assert link.first_id < link.second_id
    for person in (world.alice, world.bob, world.carol, world.cecil):
        assert list(Partnership.objects.visible_to(person)) == [link]
    assert partner_ids(world.org_a) == {world.org_b.pk}
    assert partner_ids(world.org_b) == {world.org_a.pk}
    with tenancy.crossing("tests read the audit log"):
        events = AuditEvent.objects.filter(action="partner.added", target_id=str(link.pk))
        assert {e.organisation_id for e in events} == {world.org_a.pk, world.org_b.pk}
    assert set(Partnership.objects.visible_to(fresh_user(fresh_root("Third")))) == set()


@pytest.mark.django_db
def test_a_sub_organisation_can_be_the_linked_side(world: World) -> None:
    link = services.add_partner(
        actor=world.adam, organisation=world.org_a_child, partner_id=str(world.org_b.pk)
    )
    assert link.other_side(world.org_a_child) == world.org_b
    assert partner_ids(world.org_a) == set()
    assert partner_ids(world.org_a_child) == {world.org_b.pk}


@pytest.mark.django_db
def test_unknown_malformed_and_unlinkable_ids_get_one_identical_answer(world: World) -> None:
    child_admin = fresh_user(world.org_a_child, Role.ADMIN)
    answers = []
    for actor, pasted in (
        (child_admin, str(uuid.uuid4())),  # does not exist
        (child_admin, "not-an-id"),  # not even an ID
        (child_admin, ""),
        (child_admin, str(world.org_a.pk)),  # exists, but is the actor's own ancestor
    ):
        with pytest.raises(DomainError) as refused:
            services.add_partner(actor=actor, partner_id=pasted)
        answers.append((refused.value.code, refused.value.message, refused.value.details))
    assert len(set(map(repr, answers))) == 1
    assert answers[0][0] == "not_found"
    assert _links() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["itself", "child"])
def test_an_id_of_the_own_subtree_gets_a_clear_message(world: World, which: str) -> None:
    pasted = world.org_a if which == "itself" else world.org_a_child
    with pytest.raises(DomainError, match="own organisation tree") as refused:
        services.add_partner(actor=world.adam, partner_id=str(pasted.pk))
    assert refused.value.code == "invalid"
    assert _links() == 0


@pytest.mark.django_db
def test_an_existing_link_cannot_be_added_again_from_either_side(world: World) -> None:
    services.add_partner(actor=world.adam, partner_id=str(world.org_b.pk))
    for actor, pasted in ((world.adam, world.org_b), (world.carol, world.org_a)):
        with pytest.raises(DomainError, match="partner already") as refused:
            services.add_partner(actor=actor, partner_id=str(pasted.pk))
        assert refused.value.code == "conflict"
    assert _links() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("remover", ["adam", "carol"])
def test_either_side_removes_the_link_and_both_logs_show_it(world: World, remover: str) -> None:
    link = services.add_partner(actor=world.adam, partner_id=str(world.org_b.pk))
    services.remove_partner(actor=world.people[remover], partnership=link)
    assert _links() == 0
    with tenancy.crossing("tests read the audit log"):
        events = AuditEvent.objects.filter(action="partner.removed", target_id=str(link.pk))
        assert {e.organisation_id for e in events} == {world.org_a.pk, world.org_b.pk}
        assert {e.actor_id for e in events} == {world.people[remover].pk}


@pytest.mark.django_db
def test_a_stranger_cannot_remove_a_link_and_roles_without_the_right_cannot_touch_it(
    world: World,
) -> None:
    link = link_between(world.org_b, fresh_root())
    with pytest.raises(DomainError) as stranger:
        services.remove_partner(actor=world.adam, partnership=link)
    assert stranger.value.code == "not_found"
    for persona in ("olga", "bob", "cecil"):
        with pytest.raises(DomainError) as refused:
            services.remove_partner(actor=world.people[persona], partnership=link)
        assert refused.value.code == "forbidden"
        with pytest.raises(DomainError):
            services.add_partner(actor=world.people[persona], partner_id=str(fresh_root().pk))
    assert _links() == 1


@pytest.mark.django_db
def test_a_foreign_organisation_is_never_the_own_side(world: World) -> None:
    with pytest.raises(DomainError) as refused:
        services.add_partner(
            actor=world.adam, organisation=world.org_b, partner_id=str(fresh_root().pk)
        )
    assert refused.value.code == "not_found"


@pytest.mark.django_db
def test_recipients_are_the_own_subtree_plus_the_partners_of_the_own_organisation(
    world: World,
) -> None:
    third = fresh_root("Third Tree")
    third_child = fresh_child(third, "Third Child")
    stranger = fresh_root("Stranger")
    services.add_partner(actor=world.adam, partner_id=str(third.pk))
    # A partner of a sub-organisation is not a recipient for the parent's users.
    services.add_partner(
        actor=world.adam, organisation=world.org_a_child, partner_id=str(world.org_b.pk)
    )
    names = {org.name for org in recipient_choices(world.adam)}
    assert names == {"Integra", "Integra Service", "Third Tree"}
    assert third_child.name not in names
    assert stranger.name not in names
    child_user = fresh_user(world.org_a_child, Role.OPERATOR)
    assert {org.name for org in recipient_choices(child_user)} == {
        "Integra Service",
        "Carol Utility",
    }
    # Both sides of a link are recipients for each other.
    assert {org.name for org in recipient_choices(world.carol)} == {
        "Carol Utility",
        "Integra Service",
    }
    assert recipient_choices(world.adam).model is Organisation
