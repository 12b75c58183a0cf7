"""Template filters of the filter chips (``partials/filters.html``)."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField

register = template.Library()


@register.filter
def choice_list(field: BoundField) -> list[tuple[Any, Any]]:
    """The field's choices, read once: a model choice field queries on every iteration.

    The chip shows the chosen label, tests whether there are choices and lists them; with
    the lazy choices each of those was a query of its own (three per filter and page), and
    each a count plus a server-side cursor. A model choice field's queryset is read here
    with one plain query instead.
    """
    form_field = field.field
    queryset = getattr(form_field, "queryset", None)
    if queryset is None:
        return list(getattr(form_field, "choices", ()) or ())
    empty = getattr(form_field, "empty_label", None)
    choices: list[tuple[Any, Any]] = [] if empty is None else [("", empty)]
    choices += [
        (form_field.prepare_value(item), form_field.label_from_instance(item)) for item in queryset
    ]
    return choices
