"""Pagination shared by web lists and the API, with counts that stay cheap on huge sets.

A list never counts millions of rows: :func:`capped_count` stops at ``cap`` + 1 and the
page shows "10,000+" beyond it. Lists over millions of rows (the device catalogue) may ask
for an estimate instead: when PostgreSQL's planner expects at least ``ESTIMATE_FROM`` rows,
nothing is counted and the page shows "≈ 180,000" — counting even the first 10,001 rows of
a big result reads thousands of table pages, the largest part of such a page's time.
Smaller results are counted (capped) as before, and a first page that is not full is its
own exact count.

On such lists a result the planner expects to hold between a page and ``cap`` rows is read
once, narrowly (:func:`narrow_page`): the ids and sort keys of at most ``cap`` + 1 rows,
counted and sorted by the database in the same statement, and then only the page's rows in
full. A few thousand matches scattered over as many table pages (a label's devices, a rare
substring of the serial) used to be read twice, once for the sorted page and once for the
count. A result expected past the cap is paged and counted (capped) as usual; one that
turns out bigger than expected is not counted again. A list that has a source readable in
its own order from an index (a label's links) takes the page's ids from that range and the
count from it alone (:func:`ordered_page`): nothing to sort.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import F, QuerySet

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
COUNT_CAP = 10_000
#: Planner estimates of at least this many times the count cap are shown instead of a count.
ESTIMATE_FACTOR = 2
ESTIMATE_FROM = ESTIMATE_FACTOR * COUNT_CAP  # with the default cap


def capped_count(queryset: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """``(count, exact)``: the number of rows, or ``(cap, False)`` when there are more."""
    counted = queryset.order_by()[: cap + 1].count()
    if counted > cap:
        return cap, False
    return counted, True


def estimated_count(queryset: QuerySet) -> int | None:
    """The planner's estimate of the rows of ``queryset`` (PostgreSQL), else None.

    One ``EXPLAIN`` without running the query: planning only, about as fast as a primary-key
    look-up. The figure is rounded to two significant digits; it is a guess, not a count.
    The planner's statistics cover the whole table, so an estimate says as much about the
    catalogue at large as the table's size does (nothing about any one organisation's rows).
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = queryset.order_by().query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:  # ``.none()``: nothing to estimate
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    rows = int(plan[0]["Plan"]["Plan Rows"])
    return int(float(f"{rows:.2g}")) if rows >= 100 else rows


def _ordering(queryset: QuerySet, id_field: str = "pk") -> list[str]:
    """The queryset's ordering as field paths (``-`` for descending), ending in the id."""
    terms = list(queryset.query.order_by or queryset.model._meta.ordering)
    if not all(isinstance(term, str) for term in terms):
        raise ValueError("a narrow page needs an ordering by field names")
    if not any(term.lstrip("-") in {"pk", "id", id_field} for term in terms):
        terms.append(id_field)
    return terms


def narrow_page(
    queryset: QuerySet,
    start: int,
    size: int,
    cap: int = COUNT_CAP,
    *,
    id_field: str = "pk",
) -> tuple[list[Any] | None, int, bool] | None:
    """``(ids of the page's rows in order, total, exact)`` from one statement, or None.

    The database reads the id (``id_field``) and sort keys of at most ``cap`` + 1 matching
    rows, counts them and sorts them; only the page's ids come back. Those rows are any
    ``cap`` + 1, so more of them than ``cap`` give ``(None, cap, False)``: the total is
    known ("10,000+"), the page must be read in order as usual. None when the page lies
    past the end (there is no row to carry the count).
    """
    ordering = _ordering(queryset, id_field)
    keys = {f"narrow_{index}": F(term.lstrip("-")) for index, term in enumerate(ordering)}
    inner = queryset.order_by()
    inner = inner.annotate(narrow_pk=F(id_field), **keys).values("narrow_pk", *keys)
    limit = cap + 1
    connection = connections[queryset.db]
    try:
        sql, params = inner[:limit].query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:  # ``.none()``
        return [], 0, True
    quote = connection.ops.quote_name
    order = ", ".join(
        f"{quote(name)} {'DESC' if term.startswith('-') else 'ASC'}"
        for name, term in zip(keys, ordering, strict=True)
    )
    # ``sql`` is Django's compiled query (values are parameters); ``order`` is built from
    # quoted alias names chosen above.
    statement = f"SELECT narrow_pk, COUNT(*) OVER () FROM ({sql}) narrow ORDER BY {order}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"{statement} LIMIT %s OFFSET %s", [*params, size, start])
        found = cursor.fetchall()
    if not found:
        return ([], 0, True) if start == 0 else None
    ids = [row[0] for row in found]
    counted = int(found[0][1])
    if counted < limit:
        return ids, counted, True
    return None, cap, False


def ordered_page(
    source: QuerySet, start: int, size: int, cap: int = COUNT_CAP, *, id_field: str = "pk"
) -> tuple[list[Any], int, bool] | None:
    """``(ids of the page's rows in order, total, exact)`` of a source that an index reads
    in its own order (a label's links), or None past the end.

    The page's ids come from the first rows of the index range, and the count from the
    same range's entries alone: two short statements, where one that counted and sorted
    every match in a window spent 2–3 ms on a label of 4,500 devices.
    """
    ids = list(source.values_list(id_field, flat=True)[start : start + size])
    if len(ids) < size:
        if not ids and start > 0:
            return None
        return ids, start + len(ids), True
    total, exact = capped_count(source, cap)
    return ids, max(total, start + len(ids)) if exact else total, exact


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, its position and the total.

    ``exact``: ``total`` is the count. Otherwise it is a lower bound ("10,000+"), or, when
    ``estimated``, the planner's estimate ("≈ 180,000").
    """

    items: list[Any]
    offset: int
    limit: int
    total: int
    exact: bool
    estimated: bool = False

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
    estimate: bool = False,
    unfiltered: QuerySet | None = None,
    narrow: tuple[QuerySet, str] | None = None,
) -> Page:
    """The page of ``queryset`` at ``offset`` with ``limit`` rows and a capped total.

    ``rows`` turns the page's slice into items (e.g. plain values); default: model instances.
    ``estimate``: a list over millions of rows. Big results get the planner's estimate
    instead of a count; others are read once, narrowly (see above). ``unfiltered``: the
    list's scoped rows before its filters; a narrow page's rows are then fetched from it by
    id, so that the planner is not tempted to serve the filters again (a label's thousand
    ids instead of the page's fifty). ``narrow``: ``(rows, id field)`` holding exactly the
    list's ids in the list's order, cheaper to read than the list itself (a label's
    links); with ``estimate``, the ids and the count come from there.
    """
    size, start = clamp(limit if limit is not None else DEFAULT_PAGE_SIZE, offset)
    guess = None
    found = None
    if estimate and narrow is not None:
        source, id_field = narrow
        found = ordered_page(source, start, size, cap, id_field=id_field)
    elif estimate:
        guess = estimated_count(queryset)
        # Expected to fit on the page (a DevEUI, an address): the page alone is one statement.
        # Expected past the cap: a narrow read would stop at the cap without a page, and the
        # capped count then reads as much again (at 100,000 devices: 20 ms, then 13 ms).
        if guess is None or size <= guess <= cap:
            found = narrow_page(queryset, start, size, cap)
            guess = None
    counted: tuple[int, bool] | None = None
    if found is not None:
        ids, total, exact = found
        if ids is None:  # more rows than the cap: counted already; the page is read in order
            counted = (total, exact)
        else:
            origin = unfiltered if unfiltered is not None else queryset
            window = (
                origin.filter(pk__in=ids).order_by(*_ordering(queryset)) if ids else origin.none()
            )
            items = rows(window) if rows is not None else list(window)
            return Page(items=items, offset=start, limit=size, total=total, exact=exact)
    window = queryset[start : start + size]
    items = rows(window) if rows is not None else list(window)
    if len(items) < size and (items or start == 0):  # the last page: its end is the total
        return Page(items=items, offset=start, limit=size, total=start + len(items), exact=True)
    if guess is not None and guess >= max(ESTIMATE_FACTOR * cap, start + len(items)):
        return Page(items, start, size, guess, exact=False, estimated=True)
    total, exact = counted or capped_count(queryset, cap)
    return Page(items=items, offset=start, limit=size, total=total, exact=exact)
