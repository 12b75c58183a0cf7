"""The page envelope of every list endpoint: ``{count, count_exact, offset, limit, items}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Schema

from meterkms.core.pagination import paginate


def page_of(
    queryset: QuerySet, params: Schema, item: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    """One page of ``queryset`` at the ``limit``/``offset`` of ``params``; ``item`` maps rows."""
    page = paginate(queryset, limit=params.limit, offset=params.offset)  # type: ignore[attr-defined]
    items = [item(row) for row in page.items] if item else page.items
    return {
        "count": page.total,
        "count_exact": page.exact,
        "offset": page.offset,
        "limit": page.limit,
        "items": items,
    }
