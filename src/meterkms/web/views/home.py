"""The start page and the two menu pages of the manual: "Admin" and "Gerätekatalog"."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from meterkms.web.navigation import MENUS, sections_for


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    """The start page: one tile per menu."""
    return render(request, "web/home.html")


@login_required
def menu_view(request: HttpRequest, menu: str) -> HttpResponse:
    """A menu page listing the sections the actor may open."""
    if menu not in MENUS:
        raise Http404
    label, _sections = MENUS[menu]
    return render(
        request,
        "web/menu.html",
        {"menu_key": menu, "menu_label": label, "sections": sections_for(request.actor, menu)},  # type: ignore[attr-defined]
    )
