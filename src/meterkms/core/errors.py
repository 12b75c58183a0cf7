"""Domain errors: what a service raises, and how web and API turn it into an answer."""

from __future__ import annotations

from typing import Any

#: HTTP status per error code; the API's JSON error shape and the web's messages use it.
STATUS_BY_CODE = {
    "invalid": 422,
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "cycle": 409,
    "unavailable": 503,
    "too_large": 413,
    "throttled": 429,
}


class DomainError(Exception):
    """A service refused an action; ``message`` is safe to show to the user.

    ``code`` is machine-readable (see STATUS_BY_CODE); ``details`` carries per-field or
    per-line problems (e.g. ``[{"line": 7, "field": "app_key", "message": "…"}]``) and never
    secrets.
    """

    def __init__(
        self, code: str, message: str, *, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []

    @property
    def status(self) -> int:
        return STATUS_BY_CODE.get(self.code, 400)


class NotFound(DomainError):
    """The object does not exist for this actor (foreign objects included: never 403)."""

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__("not_found", message)


class PermissionDenied(DomainError):
    """The actor's role lacks the permission (only for objects the actor can see)."""

    def __init__(self, message: str = "Your role does not allow this action.") -> None:
        super().__init__("forbidden", message)
