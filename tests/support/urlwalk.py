"""The URL walk: every route × persona × own/foreign/missing object × method.

Each feature registers its routes in :data:`ROUTES` (see ``tests/web/routes.py``). For every
registered route the walk checks:

* anonymous: public routes answer normally; web routes redirect to the login page; API
  routes answer 401;
* a persona whose role lacks the route's permission gets 403 (for every object kind, so
  the answer tells nothing about the object);
* a persona with the permission gets the route's success status for its *own* object, and a
  404 for a *foreign* and a *missing* object — with byte-identical bodies;
* no response to a persona contains another tree's names.

A meta-test fails when a URL pattern of the project has no registered route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from meterkms.accounts.models import User
from meterkms.organisations.permissions import Perm
from tests.support.personas import World

KINDS = ("own", "foreign", "missing")
#: Personas walked for every route; ``None`` is the anonymous visitor.
PERSONAS = (None, "alice", "adam", "olga", "bob", "carol")

Target = Callable[[World, User, str], dict[str, Any]]
Body = Callable[[World, User], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    """How to call one URL name with one method, and what it must answer."""

    name: str
    method: str = "GET"
    perm: Perm | None = None
    public: bool = False
    target: Target | None = None
    ok: tuple[int, ...] = (200,)
    body: Body | None = None
    json: bool = False

    @property
    def is_api(self) -> bool:
        return self.name.startswith("api:")

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}"


ROUTES: list[Route] = []


def register(*routes: Route) -> None:
    """Add routes to the walk."""
    ROUTES.extend(routes)


def project_url_names() -> set[str]:
    """Every named URL pattern of the project (namespaced), excluding Django's own."""
    names: set[str] = set()

    def walk(patterns: list[Any], namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or ""
                walk(pattern.url_patterns, f"{namespace}{inner}:" if inner else namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(namespace + pattern.name)

    walk(get_resolver().url_patterns, "")
    return names
