"""Error pages: the same body for a foreign and a missing object, no request details."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 without the path or the exception text, so two misses are byte-identical."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse(
            {"error": {"code": "not_found", "message": "Not found.", "details": []}}, status=404
        )
    return render(request, "web/errors/404.html", status=404)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403: the object is visible but the role lacks the permission."""
    return render(request, "web/errors/403.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 without any detail of the failure (the log has it, with the request id)."""
    return render(request, "web/errors/500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The CSRF check failed: usually an expired page; ask to reload."""
    return render(request, "web/errors/csrf.html", status=403)
