"""The organisation tree: paths, subtrees and moves without cycles."""

from __future__ import annotations

import pytest

from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.organisations.models import Organisation
from meterkms.organisations.services import move_organisation
from tests.support.personas import World, make_org


@pytest.mark.django_db
def test_paths_nest_and_subtree_is_one_range(world: World) -> None:
    grandchild = make_org("Depot", parent=world.org_a_child)
    assert grandchild.path.startswith(world.org_a_child.path)
    assert world.org_a_child.path.startswith(world.org_a.path)
    assert grandchild.depth == 2
    visible = set(Organisation.objects.visible_to(world.alice))
    assert visible == {world.org_a, world.org_a_child, grandchild}


@pytest.mark.django_db
def test_move_rewrites_the_whole_subtree_and_is_audited(world: World) -> None:
    grandchild = make_org("Depot", parent=world.org_a_child)
    other = make_org("Other branch", parent=world.org_a)
    moved = move_organisation(
        organisation=world.org_a_child, new_parent=other, actor=world.alice, channel="web"
    )
    grandchild.refresh_from_db()
    assert moved.parent_id == other.pk
    assert moved.path == other.path + moved.id.hex + "/"
    assert grandchild.path == moved.path + grandchild.id.hex + "/"
    assert (moved.depth, grandchild.depth) == (2, 3)
    with tenancy.crossing("test reads the audit log"):
        assert (
            AuditEvent.objects.filter(action="organisation.moved", target_id=str(moved.pk)).count()
            == 1
        )


@pytest.mark.django_db
@pytest.mark.parametrize("below", ["itself", "child", "grandchild"])
def test_move_below_own_subtree_is_refused(world: World, below: str) -> None:
    grandchild = make_org("Depot", parent=world.org_a_child)
    target = {"itself": world.org_a, "child": world.org_a_child, "grandchild": grandchild}[below]
    with pytest.raises(DomainError, match="below itself") as refused:
        move_organisation(
            organisation=world.org_a, new_parent=target, actor=world.alice, channel="web"
        )
    assert refused.value.code == "cycle"
    world.org_a.refresh_from_db()
    assert world.org_a.parent_id is None


@pytest.mark.django_db
def test_organisation_needs_a_name(world: World) -> None:
    with pytest.raises(DomainError, match="name"):
        make_org("   ")
