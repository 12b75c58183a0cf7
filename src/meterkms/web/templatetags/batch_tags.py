"""Template helpers of the batch pages and the device list's claim and batch actions."""

from __future__ import annotations

from typing import Any

from django import template

from meterkms.organisations.permissions import Perm

register = template.Library()


@register.filter
def can(actor: Any, perm: str) -> bool:
    """``{% if request.actor|can:"devices:claim" %}``: the actor holds the permission."""
    try:
        return bool(actor is not None and actor.has(Perm(perm)))
    except ValueError:
        return False
