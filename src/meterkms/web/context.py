"""Template context shared by every page: the menus the actor may open."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from meterkms.web.navigation import MENUS, sections_for


def _current_menu(request: HttpRequest) -> str | None:
    match = request.resolver_match
    if match is None:
        return None
    if match.view_name == "web:menu":
        return str(match.kwargs.get("menu"))
    for key, (_label, sections) in MENUS.items():
        if any(section.url_name == match.view_name for section in sections):
            return key
    return None


def navigation(request: HttpRequest) -> dict[str, Any]:
    """``menus`` (label and sections the actor may open, per menu) and ``current_menu``."""
    actor = getattr(request, "actor", None)
    if actor is None:
        return {"menus": {}, "current_menu": None}
    return {
        "menus": {
            key: {"label": label, "sections": sections_for(actor, key)}
            for key, (label, _sections) in MENUS.items()
        },
        "current_menu": _current_menu(request),
        "current_view": request.resolver_match.view_name if request.resolver_match else "",
    }
