"""One JSON error shape for every API answer that is not a success.

``{"error": {"code": "not_found", "message": "Not found.", "details": []}}``
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from meterkms.core.errors import DomainError


class ErrorBody(Schema):
    """What went wrong, machine- and human-readable; details name fields or lines."""

    code: str
    message: str
    details: list[dict[str, Any]] = []


class ErrorOut(Schema):
    """The error envelope."""

    error: ErrorBody


#: Responses every operation documents besides its success.
ERRORS: dict[int, type[Schema]] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _answer(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return api.create_response(request, body, status=status)


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ())]
        details.append(
            {
                "field": ".".join(location[1:]) or ".".join(location),
                "message": str(error.get("msg", "invalid")),
            }
        )
    return details


def install(api: NinjaAPI) -> None:
    """Register the handlers that turn exceptions into the error shape."""

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return _answer(api, request, exc.status, exc.code, exc.message, exc.details)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _answer(api, request, 404, "not_found", "Not found.")

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return _answer(
            api,
            request,
            401,
            "unauthenticated",
            "Authenticate with a bearer token or a browser session.",
        )

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return _answer(
            api, request, 422, "invalid", "The request is invalid.", _validation_details(exc)
        )

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "error"
        )
        return _answer(api, request, exc.status_code, code, str(exc))
