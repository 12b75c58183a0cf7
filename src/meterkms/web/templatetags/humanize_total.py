"""Template tags for list totals: an exact count, "10,000+" beyond the count cap, or an
estimate ("≈ 180,000") where a huge list shows the planner's guess instead of counting."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format

from meterkms.core.pagination import Page

register = template.Library()


@register.simple_tag
def total(page: Page) -> str:
    """The page's total, localised: "+" on a lower bound, "≈" before an estimate."""
    text = number_format(page.total, force_grouping=True)
    if page.estimated:
        return f"≈ {text}"
    return text if page.exact else f"{text}+"
