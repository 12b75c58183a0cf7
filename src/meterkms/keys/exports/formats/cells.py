"""Cell text for spreadsheet-bound exports: formula neutralisation, quoting, numbers.

Formula injection (ASVS 1.2.10, B16): a cell whose text starts with ``=``, ``+``, ``-``,
``@``, TAB, CR or NUL is run as a formula by Excel and LibreOffice when the CSV is opened.
Such a cell gets a leading apostrophe (``'=cmd`` stays the text ``'=cmd``) and, like every
cell, double quotes with inner quotes doubled (RFC 4180 §2.6–2.7). XLSX exports write text
cells with Excel's own "quote prefix" flag instead, so the text itself stays unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\0")
# A trigger after a newline; the first cell is checked apart (``^|\n`` would be slow).
_TRIGGER_AFTER_NEWLINE = re.compile("\n[=+\\-@\t\r\0]")

#: Thousands separators a user may choose (none, dot, comma, space, apostrophe).
THOUSANDS_SEPARATORS = ("", ".", ",", " ", "'")


def neutralise(text: str) -> str:
    """``text`` with a leading apostrophe if a spreadsheet would run it as a formula."""
    if text and text[0] in FORMULA_TRIGGERS:
        return "'" + text
    return text


def quoted_column(cells: Sequence[str]) -> Sequence[str]:
    """A column of cell texts made safe to put between double quotes.

    Checks the whole column with two C-level searches; only a column that holds a quote
    or a formula start is rewritten cell by cell.
    """
    joined = "\n".join(cells)
    clean = '"' not in joined and joined[:1] not in FORMULA_TRIGGERS
    if clean and not _TRIGGER_AFTER_NEWLINE.search(joined):
        return cells
    return [neutralise(cell).replace('"', '""') for cell in cells]


def format_numbers(numbers: Sequence[int | None], thousands: str) -> list[str]:
    """Integers with the user's thousands separator (``1.234.567``); ``""`` for None."""
    if thousands == "":
        return ["" if number is None else str(number) for number in numbers]
    texts = "\n".join("" if number is None else f"{number:,}" for number in numbers)
    if thousands != ",":
        texts = texts.replace(",", thousands)
    return texts.split("\n")


_BYTE_HEX = tuple(f"{value:02X}" for value in range(256))


def byte_hex(values: Iterable[int | None]) -> list[str]:
    """Bytes (version, medium) as two upper-case hex digits; ``""`` for None."""
    table = _BYTE_HEX  # a lookup instead of a format call per cell (a million rows: 2 M cells)
    return [
        "" if value is None else table[value] if 0 <= value < 256 else f"{value:02X}"
        for value in values
    ]


def check_thousands(thousands: str) -> None:
    """Refuse a thousands separator the profile page does not offer."""
    if thousands not in THOUSANDS_SEPARATORS:
        raise ValueError(f"thousands separator must be one of {THOUSANDS_SEPARATORS!r}")
