"""Helpers every web view uses: permission checks, lists with filters, domain errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django_filters import FilterSet

from meterkms.core.errors import DomainError
from meterkms.core.pagination import paginate
from meterkms.organisations.permissions import Perm
from meterkms.web.templatetags.filter_chips import build_chip

View = Callable[..., HttpResponse]


def safe_next(request: HttpRequest, target: str | None) -> str:
    """``target`` when it is a page of this site over HTTPS (a ``next`` parameter), else ""."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=True
    ):
        return target
    return ""


def requires(perm: Perm) -> Callable[[View], View]:
    """Log-in required, then 403 unless the actor holds ``perm``.

    A 403 only ever answers for pages without an object; object pages look the object up
    in the actor's scope first, so a foreign object is a 404 before any permission check.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.actor.has(perm):  # type: ignore[attr-defined]
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorate


def apply_domain_error(
    form: forms.Form, exc: DomainError, default_field: str | None = None
) -> None:
    """Show a service's refusal on the form, per field where the error names one."""
    placed = False
    for detail in exc.details:
        field = detail.get("field")
        if field in form.fields:
            form.add_error(field, str(detail.get("message", exc.message)))
            placed = True
    if not placed:
        form.add_error(default_field if default_field in form.fields else None, exc.message)


#: Asks a list for one chip's options instead of its rows (the chip's server search).
OPTIONS_PARAM = "_options"


def render_chip_options(request: HttpRequest, filterset: FilterSet) -> HttpResponse:
    """The options of the chip ``?_options=<filter>`` matching ``?_search=<text>``.

    They come from the same FilterSet as the list, so from the actor's scope only. A name
    that is not one of the list's choice filters is a 404.
    """
    name = request.GET.get(OPTIONS_PARAM, "")
    form = filterset.form
    if name not in form.fields or getattr(form.fields[name], "queryset", None) is None:
        raise Http404
    bound = form[name]
    return render(
        request,
        "web/partials/filters.html#chip-options",
        {"field": bound, "chip": build_chip(bound, request.GET.get("_search", ""))},
    )


def render_list(
    request: HttpRequest,
    template: str,
    *,
    filterset_class: type[FilterSet],
    queryset: QuerySet,
    context: dict[str, Any] | None = None,
    filterset_kwargs: dict[str, Any] | None = None,
    rows: Callable[[QuerySet], list[Any]] | None = None,
    estimate: bool = False,
) -> HttpResponse:
    """A filtered, paginated list page; htmx requests get only the ``results`` partial.

    ``queryset`` must already be scoped to the actor: the filters only narrow it.
    ``estimate``: show the planner's estimate for huge results (see ``core.pagination``).
    """
    # Always bound: an unbound FilterSet is never "valid", which would empty an unfiltered list.
    filterset = filterset_class(request.GET, queryset=queryset, **(filterset_kwargs or {}))
    if OPTIONS_PARAM in request.GET:
        return render_chip_options(request, filterset)
    valid = filterset.is_valid()
    filtered = filterset.qs if valid else queryset.none()
    narrow_source = getattr(filterset, "narrow_source", None)
    page = paginate(
        filtered,
        limit=request.GET.get("limit"),
        offset=request.GET.get("offset"),
        rows=rows,
        estimate=estimate,
        unfiltered=queryset,
        narrow=narrow_source() if valid and narrow_source is not None else None,
    )
    query = request.GET.copy()
    query.pop("offset", None)
    data = {
        "filter": filterset,
        "page": page,
        "query": query.urlencode(),
        **(context or {}),
    }
    if getattr(request, "htmx", False) and not request.htmx.boosted:  # type: ignore[attr-defined]
        return render(request, f"{template}#results", data)
    return render(request, template, data)
