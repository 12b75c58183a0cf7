"""Per-user language, session lifetimes and the forced password change."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import translation

Handler = Callable[[HttpRequest], HttpResponse]

SESSION_LOGIN_AT = "meterkms_login_at"
SESSION_SEEN_AT = "meterkms_seen_at"


class SessionLifetimeMiddleware:
    """Ends a session after the idle timeout or the absolute lifetime, whichever first."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            login_at = request.session.get(SESSION_LOGIN_AT, now)
            seen_at = request.session.get(SESSION_SEEN_AT, now)
            if (
                now - login_at > settings.SESSION_ABSOLUTE_SECONDS
                or now - seen_at > settings.SESSION_IDLE_SECONDS
            ):
                logout(request)
            else:
                request.session.setdefault(SESSION_LOGIN_AT, login_at)
                # Write at most once a minute, so reads don't rewrite the session each time.
                if now - seen_at > 60 or SESSION_SEEN_AT not in request.session:
                    request.session[SESSION_SEEN_AT] = now
        return self.get_response(request)


class UserLanguageMiddleware:
    """Uses the logged-in user's stored language instead of the browser's."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        response = self.get_response(request)
        if user.is_authenticated:
            response.headers.setdefault("Content-Language", user.language)
        return response


#: Paths a user who must change the password can still reach.
_ALLOWED_PREFIXES = ("/password/", "/logout/", "/static/", "/healthz", "/i18n/")


class ForcedPasswordChangeMiddleware:
    """Sends a user whose password an administrator set to the password change first."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not request.path.startswith(_ALLOWED_PREFIXES)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "error": {
                            "code": "password_change_required",
                            "message": "Change your password in the web interface first.",
                            "details": [],
                        }
                    },
                    status=403,
                )
            return redirect("web:password_change")
        return self.get_response(request)
