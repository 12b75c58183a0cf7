"""Template filters of the filter chips (``partials/filters.html``).

A chip over a model (labels, batches, organisations, device types) lists at most
``OPTION_LIMIT`` options. When there are more, its search box asks the list's own URL for
the options matching the typed text (``option_search``), so a tree with thousands of
batches never renders thousands of radio buttons on every page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.forms import BoundField

#: Options a chip over a model lists at most; with more, its search asks the server.
OPTION_LIMIT = 30
#: Longest search text a chip sends (longer text is cut, not refused).
SEARCH_MAX = 100

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
    #: More options exist than are listed: typing in the chip's search asks the server.
    more: bool = False
    #: The text the options were searched for ("" for none).
    search: str = ""


def option_text_field(model: type[Model]) -> str | None:
    """The column a chip's server search matches: the model's ``option_text`` or ``name``.

    None when the model has neither: its chip lists every option, as a plain choice does.
    """
    name = getattr(model, "option_text", "name")
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return name


def _model_choices(form_field: Any, value: str, search: str) -> tuple[list[tuple[Any, Any]], bool]:
    """Up to ``OPTION_LIMIT`` options of a model choice field matching ``search``.

    The chosen option (``value``) always comes along, first if the search would leave it
    out: a radio group without it checked would drop the filter on the next change.
    Returns the options and whether more exist.
    """
    queryset: QuerySet = form_field.queryset

    def option(item: Model) -> tuple[Any, Any]:
        return form_field.prepare_value(item), form_field.label_from_instance(item)

    text = option_text_field(queryset.model)
    if text is None:  # nothing to search by: every option, as before
        return [option(item) for item in queryset], False
    matching = queryset.filter(**{f"{text}__icontains": search}) if search else queryset
    items = list(matching[: OPTION_LIMIT + 1])
    more = len(items) > OPTION_LIMIT
    options = [option(item) for item in items[:OPTION_LIMIT]]
    if value and all(str(key) != value for key, _label in options):
        key = form_field.to_field_name or "pk"
        try:
            chosen = queryset.filter(**{key: value}).first()
        except (ValueError, TypeError, ValidationError):  # not even a well-formed key
            chosen = None
        if chosen is not None:
            options.insert(0, option(chosen))
    return options, more


def build_chip(bound: BoundField, search: str = "") -> Chip:
    """The chip of ``bound``: compared and labelled here once instead of per option.

    ``search`` narrows a model chip's options to those containing it (any case).
    """
    raw = bound.value()
    value = "" if raw is None else str(raw)
    form_field = bound.field
    search = search.strip()[:SEARCH_MAX]
    more = False
    if getattr(form_field, "queryset", None) is not None:
        choices, more = _model_choices(form_field, value, search)
        has_choices = True
    else:
        choices = list(getattr(form_field, "choices", ()) or ())
        has_choices = bool(choices)
    options = [(str(key), label, str(key) == value) for key, label in choices if key != ""]
    if not has_choices:
        shown = value
    else:
        shown = next((str(label) for key, label, chosen in options if chosen), "")
    return Chip(
        value=value,
        shown=shown,
        has_choices=has_choices,
        options=options,
        more=more,
        search=search,
    )


@register.filter
def chip(bound: BoundField) -> Chip:
    """The chip of ``bound`` (see ``build_chip``); the template's entry point."""
    return build_chip(bound)
