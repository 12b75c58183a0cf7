"""The routes of the foundation, registered for the URL walk."""

from __future__ import annotations

import secrets
from typing import Any

from meterkms.accounts.models import ApiToken, User
from meterkms.accounts.services import hash_token
from meterkms.organisations.permissions import Perm
from tests.support.personas import World
from tests.support.urlwalk import Route, register

MISSING_INT = 987_654_321


def _token_of(user: User) -> ApiToken:
    """A token row for ``user`` created directly (viewers may own none through the service)."""
    secret = "mkms_" + secrets.token_urlsafe(30)
    return ApiToken._base_manager.create(
        user=user,
        organisation_id=user.organisation_id,
        name="walk",
        prefix=secret[:13],
        token_hash=hash_token(secret),
        scopes=["tokens:manage"],
    )


def token_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    """Own: the persona's token; foreign: a token of the other tree; missing: no such id."""
    if kind == "own":
        return {"token_id": _token_of(persona).pk}
    if kind == "foreign":
        other = world.cecil if persona.organisation_id != world.org_b.pk else world.olga
        return {"token_id": _token_of(other).pk}
    return {"token_id": MISSING_INT}


register(
    Route("healthz", public=True),
    Route(
        "set_language", method="POST", public=True, ok=(302,), body=lambda w, u: {"language": "de"}
    ),
    Route("api:openapi-json", public=True),
    Route("api:openapi-view", public=True),
    Route("api:api-root", public=True, ok=(404,)),
    Route("web:login", public=True, ok=(200, 302)),
    Route(
        "web:login",
        method="POST",
        public=True,
        ok=(200, 302),
        body=lambda w, u: {"username": "nobody@example.com", "password": "wrong"},
    ),
    Route("web:login_code", public=True, ok=(302,)),
    Route("web:login_code", method="POST", public=True, ok=(302,), body=lambda w, u: {"code": "1"}),
    # The second factor's page wants a fresh login first: the walk's sessions are not fresh.
    Route("web:second_factor", ok=(302,)),
    Route("web:second_factor", method="POST", ok=(302,), body=lambda w, u: {"action": "remove"}),
    Route("web:logout", method="POST", ok=(302,)),
    Route("web:home"),
    Route("web:profile"),
    Route("web:profile", method="POST", ok=(200, 302), body=lambda w, u: {"name": ""}),
    Route("web:language", method="POST", ok=(302,), body=lambda w, u: {"language": "sv"}),
    Route("web:password_change"),
    Route(
        "web:password_change",
        method="POST",
        ok=(200,),
        body=lambda w, u: {"current_password": "x", "new_password": "y", "confirmation": "y"},
    ),
    Route(
        "web:menu",
        target=lambda w, u, kind: {"menu": "admin" if kind == "own" else "nope"},
        ok=(200,),
    ),
    Route("web:tokens", perm=Perm.TOKENS_MANAGE),
    Route("web:tokens", method="POST", perm=Perm.TOKENS_MANAGE, body=lambda w, u: {"name": ""}),
    Route(
        "web:token_revoke", method="POST", perm=Perm.TOKENS_MANAGE, target=token_target, ok=(302,)
    ),
    Route("web:audit", perm=Perm.AUDIT_READ),
    Route("api:me"),
    Route("api:list_tokens", perm=Perm.TOKENS_MANAGE),
    Route(
        "api:create_token",
        method="POST",
        perm=Perm.TOKENS_MANAGE,
        ok=(201,),
        json=True,
        body=lambda w, u: {"name": "walk", "scopes": ["tokens:manage"]},
    ),
    Route(
        "api:revoke_token", method="DELETE", perm=Perm.TOKENS_MANAGE, target=token_target, ok=(204,)
    ),
    Route("api:list_events", perm=Perm.AUDIT_READ),
)
