"""Fresh authentication: the password (and the second factor) entered within minutes.

Keys leave the system only for a session whose user typed the password recently: at login
or on the re-authentication page. A user with a second factor must also have entered a code
of their authenticator app (or a recovery code) as recently. A stolen session cookie, or a
browser left unlocked, is then not enough to download keys. The moments are kept in the
session (server side) and written only by :func:`mark_fresh` and
:func:`mark_second_factor`, which the login and the re-authentication call after checking.

API tokens are a separate credential and do not use this (see docs/downloads.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest

from meterkms.accounts import mfa
from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.organisations.permissions import Perm

#: Session key of the moment (seconds since the epoch) the password was last entered.
SESSION_AUTHENTICATED_AT = "meterkms_authenticated_at"
#: Session key of the moment the second factor was last entered.
SESSION_SECOND_FACTOR_AT = "meterkms_second_factor_at"
#: How long an entered password counts as fresh.
FRESH_SECONDS = 5 * 60

#: The clock; tests replace it to move time.
clock: Callable[[], float] = time.time


def mark_fresh(request: HttpRequest) -> None:
    """Record that the user of ``request`` has just entered the correct password."""
    request.session[SESSION_AUTHENTICATED_AT] = clock()


def mark_second_factor(request: HttpRequest) -> None:
    """Record that the user of ``request`` has just entered a correct second-factor code."""
    request.session[SESSION_SECOND_FACTOR_AT] = clock()


def seconds_since(request: HttpRequest, key: str = SESSION_AUTHENTICATED_AT) -> float | None:
    """Seconds since the password (or ``key``'s factor) was last entered, or None if never."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    moment = session.get(key)
    if not isinstance(moment, int | float):
        return None
    return clock() - moment


def _moments(request: HttpRequest) -> list[float | None]:
    keys = [SESSION_AUTHENTICATED_AT]
    if mfa.is_enabled(getattr(request, "user", None)):
        keys.append(SESSION_SECOND_FACTOR_AT)
    return [seconds_since(request, key) for key in keys]


def is_fresh(request: HttpRequest) -> bool:
    """True when the password — and for a user with a second factor, a code — was entered
    in this session within :data:`FRESH_SECONDS`.

    A moment in the future (a clock step back) does not count: the check fails closed.
    """
    return all(
        elapsed is not None and 0 <= elapsed <= FRESH_SECONDS for elapsed in _moments(request)
    )


def seconds_left(request: HttpRequest) -> int:
    """Whole seconds until the freshness runs out (0 when it has)."""
    left = FRESH_SECONDS
    for elapsed in _moments(request):
        if elapsed is None or elapsed < 0:
            return 0
        left = min(left, int(FRESH_SECONDS - elapsed))
    return max(0, left)


def needs_second_factor(request: HttpRequest) -> bool:
    """True when the user's role must have a second factor before keys leave, and has none."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return mfa.required_for(user) and not mfa.is_enabled(user)


def grants_keys(user: Any, scopes: list[str] | None) -> bool:
    """True when a token with ``scopes`` (None: all of the user's) may download keys."""
    wanted = scopes if scopes is not None else [perm.value for perm in user.permissions]
    return Perm.KEYS_DOWNLOAD.value in wanted


def may_let_keys_leave(request: HttpRequest) -> bool:
    """True when the session may let keys leave now (or mint a token that can): a second
    factor where the role needs one, and a fresh password and code."""
    return not needs_second_factor(request) and is_fresh(request)


class Outcome(StrEnum):
    """What a re-authentication gave."""

    OK = "ok"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - an outcome, not a password
    WRONG_CODE = "wrong_code"
    LOCKED = "locked"


def reauthenticate(*, request: HttpRequest, user: Any, password: str, code: str = "") -> Outcome:
    """Check ``password`` (and for a user with a second factor, ``code``) for the logged-in
    ``user``; on success the session becomes fresh.

    The password check goes through the authentication backends, so the login throttle
    (axes) counts failures here as at the login page; the code is checked only after a
    right password. Success gives the session a new id (a step-up never keeps the old one)
    and is audited; so is a failure.
    """
    checked = authenticate(request, username=user.email, password=password)
    outcome = (
        Outcome.OK if checked is not None and checked.pk == user.pk else Outcome.WRONG_PASSWORD
    )
    second = outcome is Outcome.OK and mfa.is_enabled(user)
    if second:
        result = mfa.verify(user=user, code=code, purpose="reauth")
        if result is not mfa.Result.OK:
            outcome = Outcome.LOCKED if result is mfa.Result.LOCKED else Outcome.WRONG_CODE
    with transaction.atomic():
        if outcome is Outcome.OK:
            request.session.cycle_key()
            mark_fresh(request)
            if second:
                mark_second_factor(request)
        record(
            Action.USER_REAUTHENTICATED if outcome is Outcome.OK else Action.USER_REAUTH_FAILED,
            actor=user,
            target=user,
            data={} if outcome is Outcome.OK else {"reason": outcome.value},
        )
    return outcome
