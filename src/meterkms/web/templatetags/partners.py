"""Template tags of the partner list: which side of a link is the viewer's."""

from __future__ import annotations

from django import template

from meterkms.organisations.models import Organisation, Partnership

register = template.Library()


@register.simple_tag
def link_sides(link: Partnership, actor_path: str) -> tuple[Organisation, Organisation]:
    """``(ours, partner)``: the side in the viewer's subtree first."""
    if link.first.path.startswith(actor_path):
        return link.first, link.second
    return link.second, link.first
