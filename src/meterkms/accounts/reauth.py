"""Fresh authentication: the password entered within the last few minutes.

Keys leave the system only for a session whose user typed the password recently: at login
or on the re-authentication page. A stolen session cookie, or a browser left unlocked, is
then not enough to download keys. The moment is kept in the session (server side) and
written only by :func:`mark_fresh`, which the login service and the re-authentication page
call after the password was checked.

API tokens are a separate credential and do not use this (see docs/downloads.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest

from meterkms.audit.actions import Action
from meterkms.audit.services import record

#: Session key of the moment (seconds since the epoch) the password was last entered.
SESSION_AUTHENTICATED_AT = "meterkms_authenticated_at"
#: How long an entered password counts as fresh.
FRESH_SECONDS = 5 * 60

#: The clock; tests replace it to move time.
clock: Callable[[], float] = time.time


def mark_fresh(request: HttpRequest) -> None:
    """Record that the user of ``request`` has just entered the correct password."""
    request.session[SESSION_AUTHENTICATED_AT] = clock()


def seconds_since(request: HttpRequest) -> float | None:
    """Seconds since the password was last entered in this session, or None if never."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    moment = session.get(SESSION_AUTHENTICATED_AT)
    if not isinstance(moment, int | float):
        return None
    return clock() - moment


def is_fresh(request: HttpRequest) -> bool:
    """True when the password was entered in this session within :data:`FRESH_SECONDS`.

    A moment in the future (a clock step back) does not count: the check fails closed.
    """
    elapsed = seconds_since(request)
    return elapsed is not None and 0 <= elapsed <= FRESH_SECONDS


def seconds_left(request: HttpRequest) -> int:
    """Whole seconds until the freshness runs out (0 when it has)."""
    elapsed = seconds_since(request)
    if elapsed is None or elapsed < 0:
        return 0
    return max(0, int(FRESH_SECONDS - elapsed))


def reauthenticate(*, request: HttpRequest, user: Any, password: str) -> bool:
    """Check ``password`` for the logged-in ``user``; on success the session becomes fresh.

    The check goes through the authentication backends, so the login throttle (axes)
    counts failures here as at the login page. Success gives the session a new id (a
    step-up never keeps the old one) and is audited; so is a failure.
    """
    checked = authenticate(request, username=user.email, password=password)
    ok = checked is not None and checked.pk == user.pk
    with transaction.atomic():
        if ok:
            request.session.cycle_key()
            mark_fresh(request)
        record(
            Action.USER_REAUTHENTICATED if ok else Action.USER_REAUTH_FAILED,
            actor=user,
            target=user,
        )
    return ok
