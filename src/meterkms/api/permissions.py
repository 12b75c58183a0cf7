"""Permission checks for API operations."""

from __future__ import annotations

from typing import Any

from meterkms.core.errors import PermissionDenied
from meterkms.organisations.permissions import Perm


def require(actor: Any, perm: Perm) -> None:
    """Raise 403 unless the actor holds ``perm``."""
    if actor is None or not actor.has(perm):
        raise PermissionDenied()
