"""Step-up for browser sessions in the API: a fresh password and code before keys leave.

A browser session of a key-download role must have set up a second factor (else 403
``second_factor_required``) and have entered the password and a code within the last five
minutes (else 403 ``reauthentication_required``) before an API call lets keys leave, or
creates a token that may download them. API tokens are their own credential and pass.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _

from meterkms.accounts import reauth
from meterkms.accounts.actors import TokenActor
from meterkms.core.errors import DomainError


class ReauthenticationRequired(DomainError):
    """A browser session must confirm the password before keys leave (403)."""

    def __init__(self) -> None:
        super().__init__(
            "reauthentication_required",
            _(
                "Confirm your password (and your second factor's code) first: open /reauth/ in "
                "the browser, then repeat the request within five minutes."
            ),
        )

    @property
    def status(self) -> int:
        """403: the request is understood but needs a fresh password first."""
        return 403


class SecondFactorRequired(DomainError):
    """A browser session of a key-download role without a second factor (403)."""

    def __init__(self) -> None:
        super().__init__(
            "second_factor_required",
            _(
                "Set up a second factor first: open /profile/second-factor/ in the browser, "
                "then repeat the request."
            ),
        )

    @property
    def status(self) -> int:
        """403: the request is understood but the account needs a second factor first."""
        return 403


def require_fresh(request: HttpRequest) -> None:
    """Tokens are their own credential; a session needs a recent password entry (and a
    second factor where the role requires one)."""
    if isinstance(request.auth, TokenActor):
        return
    if reauth.needs_second_factor(request):
        raise SecondFactorRequired()
    if not reauth.is_fresh(request):
        raise ReauthenticationRequired()
