"""Serial-number "contains" searches from an index of each serial's 4-grams (PostgreSQL).

``LIKE '%…%'`` cannot use a B-tree. The gram index (migration ``devices 0009``) holds, for
every device, the 4-character substrings of its serial and its last three characters, as
the lexemes of a ``tsvector`` in a GIN index:

- a serial containing a pattern of four or more characters holds each of its 4-grams;
- a serial containing a pattern of three characters holds a lexeme that starts with it (the
  4-gram at the match, or the last three characters when the match ends the serial): a
  prefix query (``'abc':*``) finds it.

Shorter patterns get no index condition. The exact test stays in the query: the index only
narrows the candidates, it never decides a match. The trigram index it replaces found, for
"99999", every serial containing "999" (46,000 of 10,000,000), each rechecked on its table
page; the 4-gram "9999" leaves 3,700.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Lookup

#: The gram length; the database function of migration ``devices 0009`` uses the same.
GRAM = 4
#: The SQL function computing a serial's lexemes (``tsvector``), and its index.
FUNCTION = "meterkms_serial_grams"
INDEX = "device_serial_grams"


def serial_grams(serial: str) -> set[str]:
    """The lexemes the database function stores for ``serial`` (the reference for tests)."""
    if len(serial) < GRAM:
        return {serial} if serial else set()
    return {serial[i : i + GRAM] for i in range(len(serial) - GRAM + 1)} | {serial[1 - GRAM :]}


def gram_query(pattern: str) -> str | None:
    """A ``tsquery`` every serial containing ``pattern`` satisfies; None when too short.

    Grams start every four characters, plus the last one: together they cover the pattern,
    each of its characters is in one, and no posting list is read twice for a repetitive
    pattern.
    """
    if len(pattern) < GRAM - 1:
        return None
    if len(pattern) == GRAM - 1:
        return f"{_lexeme(pattern)}:*"
    starts = [*range(0, len(pattern) - GRAM + 1, GRAM), len(pattern) - GRAM]
    grams = dict.fromkeys(pattern[start : start + GRAM] for start in starts)
    return " & ".join(_lexeme(gram) for gram in grams)


def _lexeme(text: str) -> str:
    """``text`` quoted as one ``tsquery`` operand: whatever it holds, no operator."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


class GramContains(Lookup):  # type: ignore[type-arg]
    """``serial__gram_contains``: the serial contains the text, exact case, on every database.

    PostgreSQL: ``strpos(serial, text) > 0`` narrowed by the gram index. ``strpos`` and not
    ``LIKE``: no wildcard to escape, and the planner takes a function's result for a third
    of the rows instead of multiplying its histogram guess for ``LIKE`` with the gram
    condition's (which the ``LIKE`` implies): for "ZRI0", 1,250,000 matches of 10,000,000,
    it expected 155,000 with ``LIKE`` and 427,000 with ``strpos``; the device list shows
    such estimates, and uses them to choose how to read a page. SQLite: ``instr``, which,
    unlike its ``LIKE``, tells upper from lower case, as PostgreSQL and the prefix filter do.

    Registered on ``Device.serial`` only: the gram condition is fast where the index exists
    and a per-row function call anywhere else.
    """

    lookup_name = "gram_contains"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        column, column_params = compiler.compile(self.lhs)
        text = str(self.rhs)
        if connection.vendor != "postgresql":
            return f"instr({column}, %s) > 0", [*column_params, text]
        contains = f"strpos({column}, %s) > 0"
        query = gram_query(text)
        if query is None:
            return contains, [*column_params, text]
        return (
            f"({FUNCTION}({column}) @@ %s::tsquery AND {contains})",
            [*column_params, query, *column_params, text],
        )
