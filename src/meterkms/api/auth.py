"""API authentication: bearer tokens (``mkms_…``) and the browser session (with CSRF)."""

from __future__ import annotations

import hmac
from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from meterkms.accounts.actors import actor_for_token
from meterkms.accounts.services import TOKEN_PREFIX, hash_token
from meterkms.core import tenancy


class TokenAuth(HttpBearer):
    """``Authorization: Bearer mkms_…``; the token's actor becomes the request's actor."""

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        token = token.strip()
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = hash_token(token)
        actor = actor_for_token(digest)
        if actor is None or not hmac.compare_digest(actor.token.token_hash, digest):
            return None
        request.actor = actor  # type: ignore[attr-defined]
        # The tenancy middleware runs each request in its own context: this ends with it.
        tenancy.activate(actor)
        return actor


class BrowserSessionAuth(SessionAuth):
    """The logged-in browser session; state-changing calls need the CSRF token."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any | None:
        user = request.user
        if user.is_authenticated and not getattr(user, "must_change_password", False):
            return user
        return None


AUTH = [TokenAuth(), BrowserSessionAuth()]
