"""Pagination shared by web lists and the API, with counts that stay cheap on huge sets.

A list never counts millions of rows: :func:`capped_count` stops at ``cap`` + 1 and the
page shows "10,000+" beyond it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
COUNT_CAP = 10_000


def capped_count(queryset: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """``(count, exact)``: the number of rows, or ``(cap, False)`` when there are more."""
    counted = queryset.order_by()[: cap + 1].count()
    if counted > cap:
        return cap, False
    return counted, True


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, its position and the (possibly capped) total."""

    items: list[Any]
    offset: int
    limit: int
    total: int
    exact: bool

    @property
    def has_next(self) -> bool:
        return len(self.items) == self.limit and (
            not self.exact or self.offset + self.limit < self.total
        )

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def next_offset(self) -> int:
        return self.offset + self.limit

    @property
    def previous_offset(self) -> int:
        return max(0, self.offset - self.limit)

    @property
    def first_index(self) -> int:
        return self.offset + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.offset + len(self.items)


def clamp(limit: Any, offset: Any) -> tuple[int, int]:
    """Page size and offset from untrusted input, within bounds."""
    try:
        size = int(limit)
    except (TypeError, ValueError):
        size = DEFAULT_PAGE_SIZE
    try:
        start = int(offset)
    except (TypeError, ValueError):
        start = 0
    return min(max(size, 1), MAX_PAGE_SIZE), max(start, 0)


def paginate(
    queryset: QuerySet,
    *,
    limit: Any = None,
    offset: Any = None,
    cap: int = COUNT_CAP,
    rows: Callable[[QuerySet], list[Any]] | None = None,
) -> Page:
    """The page of ``queryset`` at ``offset`` with ``limit`` rows and a capped total.

    ``rows`` turns the page's slice into items (e.g. plain values); default: model instances.
    """
    size, start = clamp(limit if limit is not None else DEFAULT_PAGE_SIZE, offset)
    window = queryset[start : start + size]
    items = rows(window) if rows is not None else list(window)
    if start == 0 and len(items) < size:
        total, exact = len(items), True
    else:
        total, exact = capped_count(queryset, cap)
    return Page(items=items, offset=start, limit=size, total=total, exact=exact)
