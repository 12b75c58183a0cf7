"""Template tags for list totals: an exact count, or "10,000+" beyond the count cap."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format

from meterkms.core.pagination import Page

register = template.Library()


@register.simple_tag
def total(page: Page) -> str:
    """The page's total, localised, with "+" when it is only a lower bound."""
    text = number_format(page.total, force_grouping=True)
    return text if page.exact else f"{text}+"
