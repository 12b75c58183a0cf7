"""Tenancy: the one mechanism that keeps every organisation's rows to itself.

Every tenant-owned model uses :class:`TenantManager` as ``objects``. Its querysets are
filtered to what the *current actor* may see (the model's ``scope_queryset``), and reading
with no actor at all raises :class:`ScopeError`, so a forgotten scope fails loudly instead of
leaking (the NetBox ``restrict()`` lesson). The actor is set once per request by the tenancy
middleware or the API authentication, and explicitly by tasks and commands::

    with tenancy.acting_as(actor):          # a task or command working for someone
        Device.objects.filter(...)          # scoped to what the actor may see

    with tenancy.crossing("claim: the batch is addressed to the claimer's organisation"):
        Device.objects.filter(...)          # unscoped; the reason says why it may cross

Writes through ``Model.save()`` use Django's base manager and are not filtered; services
choose the organisation explicitly. A foreign object therefore behaves exactly like a missing
one: ``get_object_or_404`` on a scoped manager answers 404 for both.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

from django.db import models

if TYPE_CHECKING:
    from meterkms.organisations.permissions import Perm


class ScopeError(RuntimeError):
    """A tenant-owned model was read without an actor or an explicit crossing."""


@runtime_checkable
class Actor(Protocol):
    """Who acts: a logged-in user, or an API token acting for its user."""

    pk: Any
    organisation_id: Any

    @property
    def organisation_path(self) -> str:
        """Materialised path of the actor's organisation (its subtree shares the prefix)."""
        ...

    def has(self, perm: Perm) -> bool:
        """True when the actor holds the permission."""
        ...


@dataclass(frozen=True)
class _Scope:
    actor: Actor | None
    reason: str = ""

    @property
    def unrestricted(self) -> bool:
        return self.actor is None


_current: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "meterkms_tenancy_scope", default=None
)


def current_actor() -> Actor | None:
    """The actor of the active scope, or None (no scope, or an explicit crossing)."""
    scope = _current.get()
    return scope.actor if scope else None


def activate(actor: Actor) -> contextvars.Token[_Scope | None]:
    """Make ``actor`` the current actor; returns the token to :func:`deactivate` with."""
    return _current.set(_Scope(actor=actor))


def deactivate(token: contextvars.Token[_Scope | None]) -> None:
    """Undo :func:`activate`."""
    _current.reset(token)


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    """Scope every tenant-owned query inside the block to ``actor``."""
    token = activate(actor)
    try:
        yield
    finally:
        deactivate(token)


@contextmanager
def crossing(reason: str) -> Iterator[None]:
    """Read tenant-owned models without scope, for a documented cross-tenant reason."""
    if not reason.strip():
        raise ValueError("a tenancy crossing needs a reason")
    token = _current.set(_Scope(actor=None, reason=reason))
    try:
        yield
    finally:
        _current.reset(token)


class TenantQuerySet(models.QuerySet):
    """QuerySet of a tenant-owned model; ``visible_to`` narrows it to an actor's view."""

    def visible_to(self, actor: Actor) -> Self:
        """Rows ``actor`` may see, whatever scope is active."""
        scoper = getattr(self.model, "scope_queryset", None)
        if scoper is None:
            raise ScopeError(f"{self.model.__name__} does not define scope_queryset()")
        return scoper(self, actor)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """Default manager of tenant-owned models: scoped to the current actor, or raising."""

    def get_queryset(self) -> TenantQuerySet:
        queryset: TenantQuerySet = super().get_queryset()
        scope = _current.get()
        if scope is None:
            raise ScopeError(
                f"{self.model.__name__} was queried with no actor: use "
                "Model.objects inside a request, tenancy.acting_as(actor) or "
                "tenancy.crossing(reason)"
            )
        if scope.unrestricted:
            return queryset
        return queryset.visible_to(scope.actor)  # type: ignore[arg-type]

    def visible_to(self, actor: Actor) -> TenantQuerySet:
        """Rows ``actor`` may see, also outside any active scope."""
        return TenantQuerySet(self.model, using=self._db).visible_to(actor)


#: Marker attribute values for the model census test: every model is one of these.
TENANT_OWNED = "tenant-owned"
GLOBAL = "global"
