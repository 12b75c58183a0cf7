"""User administration services: add, edit, role, password, deactivate, delete — and limits."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session

from meterkms.accounts import user_services
from meterkms.accounts.models import ApiToken, User
from meterkms.accounts.services import create_api_token, create_user
from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.organisations.permissions import Role
from tests.admin_menu.helpers import NEW_PASSWORD, fresh_child, fresh_user, unique_email
from tests.support.personas import World

ADMINS = ("alice", "adam", "carol")
NON_ADMINS = ("olga", "bob", "cecil")


def _events(action: str, target: User) -> list[AuditEvent]:
    with tenancy.crossing("tests read the audit log"):
        return list(AuditEvent.objects.filter(action=action, target_id=str(target.pk)))


def _exists(user_id: int) -> bool:
    return User._base_manager.filter(pk=user_id).exists()


def _add(actor: User, **extra: object) -> User:
    values = {
        "email": unique_email("added"),
        "name": "Added Person",
        "organisation": actor.organisation,
        "role": Role.VIEWER,
        "password": NEW_PASSWORD,
        "actor": actor,
    }
    values.update(extra)
    return create_user(**values)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_admin_adds_a_user_with_all_fields_and_the_event_names_the_admin(world: World) -> None:
    user = _add(
        world.adam,
        organisation=world.org_a_child,
        role=Role.OPERATOR,
        language="sv",
        csv_delimiter="|",
        csv_thousands_separator="'",
        must_change_password=True,
    )
    user.refresh_from_db()
    assert (user.organisation_id, user.role, user.language) == (
        world.org_a_child.pk,
        "OPERATOR",
        "sv",
    )
    assert (user.csv_delimiter, user.csv_thousands_separator) == ("|", "'")
    assert user.must_change_password
    assert user.check_password(NEW_PASSWORD)
    [event] = _events("user.created", user)
    assert event.actor_id == world.adam.pk
    assert event.data == {"role": "OPERATOR"}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ADMINS)
def test_every_admin_may_grant_roles_up_to_their_own_but_not_above(
    world: World, persona: str
) -> None:
    actor = world.people[persona]
    rank = [Role.VIEWER, Role.OPERATOR, Role.ADMIN, Role.OTC_ADMIN]
    own = rank.index(Role(actor.role))
    for role in rank[: own + 1]:
        assert _add(actor, role=role).role == role.value
    for role in rank[own + 1 :]:
        with pytest.raises(DomainError) as refused:
            _add(actor, role=role)
        assert refused.value.code == "forbidden"
    granted_top = 1 if actor.role == "OTC_ADMIN" else 0
    assert User._base_manager.filter(role="OTC_ADMIN").count() == 1 + granted_top


@pytest.mark.django_db
@pytest.mark.parametrize("persona", NON_ADMINS)
def test_roles_without_user_management_add_nobody(world: World, persona: str) -> None:
    before = User._base_manager.count()
    with pytest.raises(DomainError) as refused:
        _add(world.people[persona], role=Role.VIEWER)
    assert refused.value.code == "forbidden"
    assert User._base_manager.count() == before


@pytest.mark.django_db
def test_an_admin_never_adds_into_another_tree_or_above_their_organisation(world: World) -> None:
    child_admin = fresh_user(fresh_child(world.org_a), Role.ADMIN)
    for actor, organisation in (
        (world.carol, world.org_a),
        (world.adam, world.org_b),
        (child_admin, world.org_a),
    ):
        with pytest.raises(DomainError) as refused:
            _add(actor, organisation=organisation)
        assert refused.value.code == "not_found"
    assert not User._base_manager.filter(name="Added Person").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"email": "BOB@example.com"}, "conflict"),
        ({"password": "short"}, "invalid"),
        ({"csv_delimiter": "x"}, "invalid"),
        ({"language": "fr"}, "invalid"),
        ({"name": "  "}, "invalid"),
    ],
)
def test_invalid_new_users_are_refused_with_a_field(world: World, change: dict, code: str) -> None:
    with pytest.raises(DomainError) as refused:
        _add(world.adam, **change)
    assert refused.value.code == code
    assert refused.value.details


@pytest.mark.django_db
def test_editing_changes_fields_and_audits_their_names(world: World) -> None:
    target = fresh_user(world.org_a)
    user_services.update_user(
        actor=world.adam,
        user=target,
        name="Renamed Person",
        email="Renamed@Example.NET",
        language="es",
        csv_delimiter=",",
        csv_thousands_separator=".",
        organisation=world.org_a_child,
    )
    target.refresh_from_db()
    assert (target.name, target.email, target.language) == (
        "Renamed Person",
        "renamed@example.net",
        "es",
    )
    assert target.organisation_id == world.org_a_child.pk
    [event] = _events("user.updated", target)
    assert event.data["fields"] == sorted(
        ["name", "email", "language", "csv_delimiter", "csv_thousands_separator", "organisation"]
    )
    assert not _events("user.role_changed", target)


@pytest.mark.django_db
def test_a_role_change_is_its_own_event_with_old_and_new_role(world: World) -> None:
    target = fresh_user(world.org_a)
    user_services.update_user(actor=world.adam, user=target, role="ADMIN")
    target.refresh_from_db()
    assert target.role == "ADMIN"
    [event] = _events("user.role_changed", target)
    assert event.data == {"old_role": "VIEWER", "new_role": "ADMIN"}
    assert not _events("user.updated", target)


@pytest.mark.django_db
def test_unchanged_edit_writes_no_event(world: World) -> None:
    target = fresh_user(world.org_a)
    user_services.update_user(actor=world.adam, user=target, name=target.name, role=target.role)
    assert not _events("user.updated", target)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor", "target", "changes", "code"),
    [
        ("adam", "adam", {"role": "VIEWER"}, "forbidden"),  # own role
        ("alice", "alice", {"role": "ADMIN"}, "forbidden"),
        ("adam", "adam", {"organisation": "org_a_child"}, "forbidden"),  # own organisation
        ("adam", "bob", {"role": "OTC_ADMIN"}, "forbidden"),  # above own
        ("adam", "alice", {"name": "Alice B."}, "forbidden"),  # target above own
        ("adam", "cecil", {"name": "Cecil B."}, "not_found"),  # other tree
        ("carol", "bob", {"name": "Bob B."}, "not_found"),
        ("adam", "bob", {"organisation": "org_b"}, "not_found"),  # move into another tree
        ("adam", "bob", {"email": "olga@example.com"}, "conflict"),
        ("olga", "bob", {"name": "Bob B."}, "forbidden"),  # role lacks users:manage
    ],
)
def test_edits_beyond_the_rules_are_refused_and_change_nothing(
    world: World, actor: str, target: str, changes: dict, code: str
) -> None:
    person = world.people[target]
    before = User._base_manager.values().get(pk=person.pk)
    if "organisation" in changes:
        changes = {"organisation": getattr(world, changes["organisation"])}
    with pytest.raises(DomainError) as refused:
        user_services.update_user(actor=world.people[actor], user=person, **changes)
    assert refused.value.code == code
    assert User._base_manager.values().get(pk=person.pk) == before


@pytest.mark.django_db
def test_setting_a_password_forces_a_change_and_ends_the_users_sessions(
    world: World, client_for
) -> None:
    client = client_for(world.bob)
    assert client.get("/").status_code == 200
    user_services.set_user_password(
        actor=world.adam, user=world.bob, password=NEW_PASSWORD, confirmation=NEW_PASSWORD
    )
    world.bob.refresh_from_db()
    assert world.bob.check_password(NEW_PASSWORD)
    assert world.bob.must_change_password
    assert "/login/" in client.get("/")["Location"]
    [event] = _events("user.password_set", world.bob)
    assert event.data == {"sessions_ended": 1}
    assert NEW_PASSWORD not in str(event.data)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor", "target", "password", "confirmation", "code"),
    [
        ("adam", "bob", NEW_PASSWORD, NEW_PASSWORD + "x", "invalid"),
        ("adam", "bob", "password1234", "password1234", "invalid"),
        ("adam", "adam", NEW_PASSWORD, NEW_PASSWORD, "forbidden"),
        ("adam", "alice", NEW_PASSWORD, NEW_PASSWORD, "forbidden"),
        ("carol", "bob", NEW_PASSWORD, NEW_PASSWORD, "not_found"),
        ("bob", "olga", NEW_PASSWORD, NEW_PASSWORD, "forbidden"),
    ],
)
def test_password_setting_is_refused_beyond_policy_and_rules(
    world: World, actor: str, target: str, password: str, confirmation: str, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        user_services.set_user_password(
            actor=world.people[actor],
            user=world.people[target],
            password=password,
            confirmation=confirmation,
        )
    assert refused.value.code == code
    world.people[target].refresh_from_db()
    assert not world.people[target].must_change_password


@pytest.mark.django_db
def test_deactivation_kills_an_existing_session_at_once_and_deletes_it(
    world: World, client_for
) -> None:
    client = client_for(world.bob)
    other_device = client_for(world.bob)
    assert client.get("/").status_code == 200
    sessions_of_bob = [
        s
        for s in Session.objects.all()
        if s.get_decoded().get("_auth_user_id") == str(world.bob.pk)
    ]
    assert len(sessions_of_bob) == 2
    user_services.deactivate_user(actor=world.adam, user=world.bob)
    for browser in (client, other_device):
        answer = browser.get("/admin/tokens/")
        assert answer.status_code == 302
        assert "/login/" in answer["Location"]
    remaining = [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id")]
    assert str(world.bob.pk) not in {s.get_decoded()["_auth_user_id"] for s in remaining}
    [event] = _events("user.deactivated", world.bob)
    assert event.data == {"sessions_ended": 2}


@pytest.mark.django_db
def test_an_inactive_user_is_refused_even_while_the_session_row_still_exists(
    world: World, client_for
) -> None:
    client = client_for(world.olga)
    assert client.get("/").status_code == 200
    User._base_manager.filter(pk=world.olga.pk).update(is_active=False)
    assert Session.objects.count() >= 1
    assert "/login/" in client.get("/")["Location"]


@pytest.mark.django_db
def test_deactivation_stops_api_tokens_and_reactivation_restores_login(
    world: World, client_for
) -> None:
    _row, token = create_api_token(user=world.olga, name="head-end", scopes=None)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    user_services.deactivate_user(actor=world.alice, user=world.olga)
    assert client_for(world.alice).get("/api/v1/me", **headers).status_code == 200
    from tests.support.clients import HttpsClient

    assert HttpsClient().get("/api/v1/me", **headers).status_code == 401
    user_services.reactivate_user(actor=world.alice, user=world.olga)
    assert HttpsClient().get("/api/v1/me", **headers).status_code == 200
    assert len(_events("user.reactivated", world.olga)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor", "target", "code"),
    [("adam", "adam", "forbidden"), ("adam", "alice", "forbidden"), ("carol", "bob", "not_found")],
)
def test_deactivation_is_refused_for_self_higher_roles_and_other_trees(
    world: World, actor: str, target: str, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        user_services.deactivate_user(actor=world.people[actor], user=world.people[target])
    assert refused.value.code == code
    assert User._base_manager.get(pk=world.people[target].pk).is_active


@pytest.mark.django_db
def test_deleting_removes_user_tokens_and_sessions_but_the_audit_log_keeps_the_name(
    world: World, client_for
) -> None:
    target = fresh_user(world.org_a, Role.OPERATOR)
    create_api_token(user=target, name="t", scopes=None)
    client = client_for(target)
    user_services.delete_user(actor=world.adam, user=target)
    assert not _exists(target.pk)
    assert not ApiToken._base_manager.filter(user_id=target.pk).exists()
    assert "/login/" in client.get("/")["Location"]
    with tenancy.crossing("tests read the audit log"):
        event = AuditEvent.objects.get(action="user.deleted", target_id=str(target.pk))
        created = AuditEvent.objects.get(action="user.created", target_id=str(target.pk))
    assert event.actor_id == world.adam.pk
    assert target.email in event.target_repr or event.data["email"] == target.email
    assert created.target_repr == str(target)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor", "target", "code"),
    [
        ("adam", "adam", "forbidden"),
        ("alice", "alice", "forbidden"),
        ("adam", "alice", "forbidden"),
        ("carol", "olga", "not_found"),
        ("olga", "bob", "forbidden"),
    ],
)
def test_deleting_is_refused_for_self_higher_roles_other_trees_and_non_admins(
    world: World, actor: str, target: str, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        user_services.delete_user(actor=world.people[actor], user=world.people[target])
    assert refused.value.code == code
    assert _exists(world.people[target].pk)


@pytest.mark.django_db
def test_a_token_acting_for_an_admin_is_held_to_its_scopes(world: World) -> None:
    from meterkms.accounts.actors import TokenActor

    row, _token = create_api_token(user=world.adam, name="narrow", scopes=["users:read"])
    with pytest.raises(DomainError) as refused:
        _add(TokenActor(row))
    assert refused.value.code == "forbidden"
