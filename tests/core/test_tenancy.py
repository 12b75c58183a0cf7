"""The tenancy scope: queries without an actor raise; with one they see their subtree."""

from __future__ import annotations

import pytest

from meterkms.accounts.models import User
from meterkms.core import tenancy
from meterkms.organisations.models import Organisation
from tests.support.personas import World


@pytest.mark.django_db
def test_tenant_query_without_actor_raises(world: World) -> None:
    with pytest.raises(tenancy.ScopeError, match="no actor"):
        list(Organisation.objects.all())
    with pytest.raises(tenancy.ScopeError):
        User.objects.filter(email="alice@example.com").exists()


@pytest.mark.django_db
def test_actor_scope_filters_default_manager_to_the_subtree(world: World) -> None:
    with tenancy.acting_as(world.alice):
        names = set(Organisation.objects.values_list("name", flat=True))
        emails = set(User.objects.values_list("email", flat=True))
    assert names == {"Integra", "Integra Service"}
    assert "carol@example.com" not in emails
    assert "alice@example.com" in emails


@pytest.mark.django_db
def test_child_organisation_actor_does_not_see_its_parent(world: World) -> None:
    from tests.support.personas import make_user

    child_user = make_user("kid@example.com", world.org_a_child)
    with tenancy.acting_as(child_user):
        assert list(Organisation.objects.values_list("name", flat=True)) == ["Integra Service"]


@pytest.mark.django_db
def test_explicit_filters_never_widen_the_scope(world: World) -> None:
    with tenancy.acting_as(world.carol):
        assert not Organisation.objects.filter(pk=world.org_a.pk).exists()
        assert not User.objects.filter(organisation=world.org_a).exists()
        assert Organisation.objects.filter(pk=world.org_b.pk).exists()


@pytest.mark.django_db
def test_crossing_needs_a_reason_and_sees_everything(world: World) -> None:
    with pytest.raises(ValueError, match="reason"), tenancy.crossing("  "):
        pass
    with tenancy.crossing("test reads both trees"):
        assert Organisation.objects.count() == 3


@pytest.mark.django_db
def test_visible_to_works_outside_any_scope(world: World) -> None:
    assert set(Organisation.objects.visible_to(world.carol)) == {world.org_b}


def test_scope_is_restored_after_the_block(world: World) -> None:
    assert tenancy.current_actor() is None
    with tenancy.acting_as(world.alice):
        assert tenancy.current_actor() == world.alice
        with tenancy.crossing("nested"):
            assert tenancy.current_actor() is None
        assert tenancy.current_actor() == world.alice
    assert tenancy.current_actor() is None
