"""Personas and their organisations: the cast of every permission and tenancy test.

Two trees with data that could leak:

* ``org_a`` "Integra" (manufacturer, root) with sub-organisation ``org_a_child``;
* ``org_b`` "Carol Utility" (customer, root) with its own users and tokens.

People: ``alice`` OTC_ADMIN of A, ``adam`` ADMIN of A, ``olga`` OPERATOR of A, ``bob``
VIEWER of A, ``carol`` ADMIN of B, ``cecil`` OPERATOR of B. All have the password
:data:`PASSWORD`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from meterkms.accounts.models import User
from meterkms.accounts.services import create_user
from meterkms.core import tenancy
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Role
from meterkms.organisations.services import create_organisation
from tests.support.clients import HttpsClient

PASSWORD = "Correct-Horse-42-Battery!"


def make_org(name: str, parent: Organisation | None = None, **extra: Any) -> Organisation:
    """An organisation created through its service (so its path is right)."""
    return create_organisation(name=name, parent=parent, **extra)


def make_user(
    email: str, organisation: Organisation, role: Role = Role.VIEWER, **extra: Any
) -> User:
    """A user created through the service, with the persona password."""
    extra.setdefault("name", email.split("@")[0].capitalize())
    extra.setdefault("language", "en")
    return create_user(
        email=email, organisation=organisation, role=role, password=PASSWORD, **extra
    )


@dataclass
class World:
    """Everything a tenancy test needs: two trees, their people, and helpers."""

    org_a: Organisation
    org_a_child: Organisation
    org_b: Organisation
    people: dict[str, User] = field(default_factory=dict)

    def __getattr__(self, name: str) -> User:
        try:
            return self.people[name]
        except KeyError:
            raise AttributeError(name) from None


def build_world() -> World:
    """Create both trees and all personas."""
    with tenancy.crossing("test set-up builds several tenants"):
        org_a = make_org("Integra", may_create_organisations=True)
        org_a_child = make_org("Integra Service", parent=org_a)
        org_b = make_org("Carol Utility", may_create_organisations=True)
        world = World(org_a=org_a, org_a_child=org_a_child, org_b=org_b)
        for name, org, role in (
            ("alice", org_a, Role.OTC_ADMIN),
            ("adam", org_a, Role.ADMIN),
            ("olga", org_a, Role.OPERATOR),
            ("bob", org_a, Role.VIEWER),
            ("carol", org_b, Role.ADMIN),
            ("cecil", org_b, Role.OPERATOR),
        ):
            world.people[name] = make_user(f"{name}@example.com", org, role)
    return world


@pytest.fixture
def world(db: None) -> World:
    """The two trees and their personas."""
    return build_world()


@pytest.fixture
def alice(world: World) -> User:
    return world.alice


@pytest.fixture
def bob(world: World) -> User:
    return world.bob


@pytest.fixture
def carol(world: World) -> User:
    return world.carol


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    """An HTTPS client logged in as the given user (session created like a real login)."""

    def make(user: User) -> Client:
        client = HttpsClient()
        client.force_login(user, backend="meterkms.accounts.backends.EmailBackend")
        return client

    return make


@pytest.fixture
def acting_as() -> Callable[[Any], Any]:
    """``with acting_as(user): …`` scopes tenant queries in a test to ``user``."""
    return tenancy.acting_as
