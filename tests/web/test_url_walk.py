"""The URL walk over every registered route (see tests/support/urlwalk.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from tests.admin_menu import routes as _admin_menu_routes  # noqa: F401
from tests.batches import routes as _batches_routes  # noqa: F401
from tests.devices import routes as _devices_routes  # noqa: F401
from tests.emails import routes as _emails_routes  # noqa: F401 - registers the emails routes
from tests.keys.downloads import routes as _downloads_routes  # noqa: F401
from tests.keys.proofs import routes as _proofs_routes  # noqa: F401
from tests.support.clients import HttpsClient
from tests.support.personas import World, build_world
from tests.support.urlwalk import KINDS, PERSONAS, ROUTES, Route, project_url_names
from tests.web import routes  # noqa: F401 - registers the foundation's routes

#: Other features register their routes in these modules.
ROUTE_MODULES: tuple[str, ...] = ()


def _call(client: HttpsClient, route: Route, url: str, body: dict[str, Any] | None) -> Any:
    method = getattr(client, route.method.lower())
    if route.json and body is not None:
        return method(url, data=json.dumps(body), content_type="application/json")
    if body is not None:
        return method(url, data=body)
    return method(url)


def _url(route: Route, world: World, persona: Any, kind: str) -> str:
    # Anonymous visitors are walked over alice's objects.
    kwargs = route.target(world, persona or world.alice, kind) if route.target else {}
    return reverse(route.name, kwargs=kwargs)


def _client(persona: Any) -> HttpsClient:
    client = HttpsClient()
    if persona is not None:
        client.force_login(persona, backend="meterkms.accounts.backends.EmailBackend")
    return client


def _foreign_names(world: World, persona: Any) -> list[str]:
    """Names from the other tree that must never appear in the persona's answers."""
    if persona is None:
        return [world.org_a.name, world.org_b.name]
    if persona.organisation_id == world.org_b.pk:
        return [world.org_a.name, world.alice.email, world.bob.email]
    return [world.org_b.name, world.carol.email, world.cecil.email]


def _check_persona(route: Route, world: World, persona_name: str | None) -> int:
    persona = world.people[persona_name] if persona_name else None
    kinds = KINDS if route.target else ("own",)
    answers: dict[str, Any] = {}
    for kind in kinds:
        url = _url(route, world, persona, kind)
        body = route.body(world, persona) if route.body else None
        response = _call(_client(persona), route, url, body)
        answers[kind] = response
        _expect(route, persona, kind, response, url)
        content = b"".join(response) if response.streaming else response.content
        for name in _foreign_names(world, persona):
            assert name.encode() not in content, f"{route.id} as {persona_name} leaks {name}"
    if "foreign" in answers:
        foreign, missing = answers["foreign"], answers["missing"]
        assert foreign.status_code == missing.status_code, route.id
        assert foreign.content == missing.content, f"{route.id}: foreign and missing differ"
    return len(kinds)


def _expect(route: Route, persona: Any, kind: str, response: Any, url: str) -> None:
    where = f"{route.id} as {getattr(persona, 'email', 'anonymous')} ({kind})"
    status = response.status_code
    if route.public:
        if kind == "own":
            assert status in route.ok, f"{where}: {status}"
        return
    if persona is None:
        if route.is_api:
            assert status == 401, f"{where}: {status}"
        else:
            assert status == 302, f"{where}: {status}"
            assert "/login/" in response["Location"], where
        return
    if route.perm is not None and not persona.has(route.perm):
        assert status == 403, f"{where}: expected 403, got {status}"
        return
    if kind == "own":
        assert status in route.ok, f"{where}: expected {route.ok}, got {status}"
    else:
        assert status == 404, f"{where}: expected 404, got {status}"


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.id)
def test_url_walk(route: Route) -> None:
    world = build_world()
    cases = sum(_check_persona(route, world, persona) for persona in PERSONAS)
    assert cases >= len(PERSONAS)


def test_every_url_pattern_is_walked() -> None:
    walked = {route.name for route in ROUTES}
    missing = sorted(project_url_names() - walked)
    assert not missing, f"routes without a URL-walk entry: {missing}"
