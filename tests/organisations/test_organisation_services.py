"""Organisation services: create with the may-create right, edit, move, delete and its hook."""

from __future__ import annotations

import uuid

import pytest

from meterkms.accounts.models import User
from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.organisations import services
from meterkms.organisations.models import Invitation, Organisation, Partnership
from meterkms.organisations.permissions import Role
from tests.admin_menu.helpers import (
    fresh_child,
    fresh_root,
    fresh_user,
    invitation_with_token,
    link_between,
)
from tests.support.personas import World


def _events(action: str, target_id: object) -> list[AuditEvent]:
    with tenancy.crossing("tests read the audit log"):
        return list(AuditEvent.objects.filter(action=action, target_id=str(target_id)))


def _org(pk: object) -> Organisation | None:
    return Organisation._base_manager.filter(pk=pk).first()


@pytest.mark.django_db
def test_admin_creates_a_sub_organisation_with_its_fields_and_an_event(world: World) -> None:
    created = services.create_organisation(
        name="  Depot Nord ",
        parent=world.org_a_child,
        customer_reference=" K-17 ",
        may_create_organisations=True,
        actor=world.adam,
    )
    assert (created.name, created.customer_reference, created.may_create_organisations) == (
        "Depot Nord",
        "K-17",
        True,
    )
    assert created.path == world.org_a_child.path + created.id.hex + "/"
    assert created.depth == 2
    [event] = _events("organisation.created", created.pk)
    assert event.actor_id == world.adam.pk
    assert event.data == {"parent": str(world.org_a_child.pk)}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor", "parent", "code"),
    [
        ("adam", "org_b", "not_found"),  # another tree
        ("carol", "org_a", "not_found"),
        ("adam", None, "invalid"),  # an administrator never creates a root
        ("olga", "org_a", "forbidden"),  # role without organisations:create
        ("bob", "org_a", "forbidden"),
    ],
)
def test_creating_outside_the_rules_is_refused(
    world: World, actor: str, parent: str | None, code: str
) -> None:
    before = Organisation._base_manager.count()
    with pytest.raises(DomainError) as refused:
        services.create_organisation(
            name="Nope",
            parent=getattr(world, parent) if parent else None,
            actor=world.people[actor],
        )
    assert refused.value.code == code
    assert Organisation._base_manager.count() == before


@pytest.mark.django_db
def test_only_organisations_that_may_create_can_add_children(world: World) -> None:
    child_admin = fresh_user(world.org_a_child, Role.ADMIN)
    assert not world.org_a_child.may_create_organisations
    with pytest.raises(DomainError, match="may not create") as refused:
        services.create_organisation(name="Sub", parent=world.org_a_child, actor=child_admin)
    assert refused.value.code == "forbidden"
    services.update_organisation(
        actor=world.adam, organisation=world.org_a_child, may_create_organisations=True
    )
    created = services.create_organisation(name="Sub", parent=world.org_a_child, actor=child_admin)
    assert created.parent_id == world.org_a_child.pk


@pytest.mark.django_db
def test_editing_changes_fields_and_audits_their_names(world: World) -> None:
    services.update_organisation(
        actor=world.adam,
        organisation=world.org_a_child,
        name="Integra Field Service",
        customer_reference="C-9",
    )
    world.org_a_child.refresh_from_db()
    assert (world.org_a_child.name, world.org_a_child.customer_reference) == (
        "Integra Field Service",
        "C-9",
    )
    [event] = _events("organisation.updated", world.org_a_child.pk)
    assert event.data == {"fields": ["customer_reference", "name"]}
    assert not _events("organisation.moved", world.org_a_child.pk)


@pytest.mark.django_db
def test_an_admin_cannot_change_what_their_own_organisation_may_do(world: World) -> None:
    with pytest.raises(DomainError) as refused:
        services.update_organisation(
            actor=world.carol, organisation=world.org_b, may_create_organisations=False
        )
    assert refused.value.code == "forbidden"
    child_admin = fresh_user(world.org_a_child, Role.ADMIN)
    with pytest.raises(DomainError):
        services.update_organisation(
            actor=child_admin, organisation=world.org_a_child, may_create_organisations=True
        )
    world.org_a_child.refresh_from_db()
    assert not world.org_a_child.may_create_organisations


@pytest.mark.django_db
def test_a_new_parent_moves_the_subtree_and_is_audited(world: World) -> None:
    branch = fresh_child(world.org_a, "Branch")
    depot = fresh_child(world.org_a_child, "Depot")
    services.update_organisation(actor=world.adam, organisation=world.org_a_child, parent=branch)
    depot.refresh_from_db()
    world.org_a_child.refresh_from_db()
    assert world.org_a_child.parent_id == branch.pk
    assert depot.path == branch.path + world.org_a_child.id.hex + "/" + depot.id.hex + "/"
    [event] = _events("organisation.moved", world.org_a_child.pk)
    assert event.data == {"old_parent": str(world.org_a.pk), "new_parent": str(branch.pk)}


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["itself", "below", "other_tree", "own_organisation"])
def test_moves_never_make_cycles_nor_leave_the_subtree(world: World, where: str) -> None:
    depot = fresh_child(world.org_a_child, "Depot")
    organisation, parent, code = {
        "itself": (world.org_a_child, world.org_a_child, "cycle"),
        "below": (world.org_a_child, depot, "cycle"),
        "other_tree": (world.org_a_child, world.org_b, "not_found"),
        "own_organisation": (world.org_a, depot, "cycle"),
    }[where]
    before = organisation.path
    with pytest.raises(DomainError) as refused:
        services.update_organisation(actor=world.adam, organisation=organisation, parent=parent)
    assert refused.value.code == code
    organisation.refresh_from_db()
    assert organisation.path == before


@pytest.mark.django_db
def test_deletion_is_refused_while_the_organisation_owns_users_or_children(world: World) -> None:
    branch = fresh_child(world.org_a, "Branch")
    depot = fresh_child(branch, "Depot")
    person = fresh_user(depot)
    assert services.deletion_blockers(branch) == ["organisations"]
    assert services.deletion_blockers(depot) == ["users"]
    for organisation in (branch, depot):
        with pytest.raises(DomainError) as refused:
            services.delete_organisation(actor=world.adam, organisation=organisation)
        assert refused.value.code == "conflict"
        assert _org(organisation.pk) is not None
    User._base_manager.filter(pk=person.pk).delete()
    services.delete_organisation(actor=world.adam, organisation=depot)
    services.delete_organisation(actor=world.adam, organisation=branch)
    assert _org(depot.pk) is None
    assert _org(branch.pk) is None
    [event] = _events("organisation.deleted", branch.pk)
    assert event.data["name"] == "Branch"
    assert event.organisation_id == world.org_a.pk


@pytest.mark.django_db
def test_the_deletion_check_covers_every_protecting_relation(world: World) -> None:
    protecting = {
        relation.related_model._meta.label_lower
        for relation in Organisation._meta.related_objects
        if relation.on_delete.__name__ in {"PROTECT", "RESTRICT"}
    }
    assert {"accounts.user", "organisations.organisation"} <= protecting
    branch = fresh_child(world.org_a, "Branch")
    fresh_user(branch)
    fresh_child(branch, "Depot")
    assert services.deletion_blockers(branch) == ["organisations", "users"]


@pytest.mark.django_db
def test_deleting_takes_invitations_and_partner_links_along(world: World) -> None:
    branch = fresh_child(world.org_a, "Branch")
    invitation, _token = invitation_with_token(branch)
    link = link_between(branch, fresh_root())
    services.delete_organisation(actor=world.adam, organisation=branch)
    assert not Invitation._base_manager.filter(pk=invitation.pk).exists()
    assert not Partnership._base_manager.filter(pk=link.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor", "target", "code"),
    [
        ("adam", "org_a", "forbidden"),  # own organisation
        ("carol", "org_a_child", "not_found"),  # other tree
        ("olga", "org_a_child", "forbidden"),  # role without organisations:edit
    ],
)
def test_deletion_is_refused_for_own_foreign_and_without_the_right(
    world: World, actor: str, target: str, code: str
) -> None:
    organisation = getattr(world, target)
    User._base_manager.filter(organisation=organisation).delete()
    with pytest.raises(DomainError) as refused:
        services.delete_organisation(actor=world.people[actor], organisation=organisation)
    assert refused.value.code == code
    assert _org(organisation.pk) is not None


@pytest.mark.django_db
def test_unknown_organisation_ids_are_not_found_in_edits(world: World) -> None:
    ghost = Organisation(id=uuid.uuid4(), name="Ghost", path="ff/")
    with pytest.raises(DomainError) as refused:
        services.update_organisation(actor=world.adam, organisation=ghost, name="x")
    assert refused.value.code == "not_found"
