"""Template filters of the filter chips (``partials/filters.html``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import template
from django.forms import BoundField

register = template.Library()


@dataclass(frozen=True)
class Chip:
    """What one filter chip shows: the chosen value, its label and the options.

    ``value``: the field's value as text ("" for none). ``shown``: what the closed chip
    says for it: the chosen option's label, or the value itself for a field without
    options. ``options``: ``(value, label, chosen)`` of every option but the empty one.
    """

    value: str
    shown: str
    has_choices: bool
    options: list[tuple[str, Any, bool]] = field(default_factory=list)


def _choices(form_field: Any) -> list[tuple[Any, Any]]:
    """The field's choices, read once: a model choice field queries on every iteration.

    A model choice field's queryset is read here with one plain query, where its lazy
    choices were a count plus a server-side cursor each time the template looked.
    """
    queryset = getattr(form_field, "queryset", None)
    if queryset is None:
        return list(getattr(form_field, "choices", ()) or ())
    empty = getattr(form_field, "empty_label", None)
    choices: list[tuple[Any, Any]] = [] if empty is None else [("", empty)]
    choices += [
        (form_field.prepare_value(item), form_field.label_from_instance(item)) for item in queryset
    ]
    return choices


@register.filter
def chip(bound: BoundField) -> Chip:
    """The chip of ``bound``, compared and labelled here once instead of per option.

    The template used to compare every option with the value twice (for the chip's text
    and for the checked option), each comparison two ``stringformat`` filters.
    """
    raw = bound.value()
    value = "" if raw is None else str(raw)
    choices = _choices(bound.field)
    options = [(str(key), label, str(key) == value) for key, label in choices if key != ""]
    if not choices:
        shown = value
    else:
        shown = next((str(label) for key, label, chosen in options if chosen), "")
    return Chip(value=value, shown=shown, has_choices=bool(choices), options=options)
