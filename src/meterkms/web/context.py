"""Template context shared by every page: the menus the actor may open."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from meterkms.web.navigation import MENUS, sections_for

#: Every page below these paths belongs to that menu (detail and edit pages included).
MENU_PATHS = {"admin": "/admin/", "catalogue": "/catalogue/"}


def _current_menu(request: HttpRequest) -> str | None:
    match = request.resolver_match
    if match is not None and match.view_name == "web:menu":
        menu = str(match.kwargs.get("menu"))
        return menu if menu in MENUS else None
    for key, prefix in MENU_PATHS.items():
        if request.path.startswith(prefix):
            return key
    return None


def _current_section(request: HttpRequest, sections: list[Any]) -> str:
    """The section whose page is the longest prefix of this page's path."""
    best, length = "", 0
    for section in sections:
        try:
            path = reverse(section.url_name)
        except NoReverseMatch:
            continue
        if request.path.startswith(path) and len(path) > length:
            best, length = section.url_name, len(path)
    return best


def navigation(request: HttpRequest) -> dict[str, Any]:
    """``menus`` (label and sections the actor may open, per menu), the current menu/section."""
    actor = getattr(request, "actor", None)
    if actor is None:
        return {"menus": {}, "current_menu": None}
    menus = {
        key: {"label": label, "sections": sections_for(actor, key)}
        for key, (label, _sections) in MENUS.items()
    }
    current = _current_menu(request)
    return {
        "menus": menus,
        "current_menu": current,
        "current_view": _current_section(request, menus[current]["sections"]) if current else "",
    }
