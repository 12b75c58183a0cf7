"""Request id, client address and the tenancy scope of every request."""

from __future__ import annotations

import contextvars
import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from meterkms.core import context, tenancy

Handler = Callable[[HttpRequest], HttpResponse]


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the trusted proxy's X-Forwarded-For entry.

    Only the last ``METERKMS_TRUSTED_PROXY_COUNT`` hops are trusted, so a client cannot
    choose its counted address by sending its own X-Forwarded-For.
    """
    hops = getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0)
    if hops:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR")


class RequestIdMiddleware:
    """Gives every request an id (echoed as X-Request-ID) and records where it came from."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = secrets.token_hex(8)
        channel = "api" if request.path.startswith("/api/") else "web"
        info = context.RequestInfo(
            request_id=request_id,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            channel=channel,
        )
        token = context.set_current(info)
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every log record (``-`` outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.current().request_id or "-"
        return True


class TenancyMiddleware:
    """Makes the logged-in user the current actor for the rest of the request.

    The request runs in a copied context, so whatever the API authentication activates for
    a token is discarded with the request. Streaming bodies are produced after this
    returns, i.e. with no actor: they fail closed unless they carry their own scope.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return contextvars.copy_context().run(self._handle, request)

    def _handle(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            request.actor = user  # type: ignore[attr-defined]
            tenancy.activate(user)  # type: ignore[arg-type]
        else:
            request.actor = None  # type: ignore[attr-defined]
        return self.get_response(request)
