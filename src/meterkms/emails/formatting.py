"""The safe placeholder formatter of email templates.

Organisation-edited templates never reach the Django template engine or ``str.format``:
they are parsed here into literal text and ``{name}`` fields. A field is a bare identifier
from the kind's documented set and nothing else — no attribute access (``{user.password}``),
no indexing (``{items[0]}``), no format spec (``{link:>99999}``), no conversion (``{x!r}``),
no positional fields — so a template author can never reach objects, attributes or code.
``{{`` and ``}}`` write literal braces. Values are escaped for their part (HTML-escaped in the
HTML body, line breaks removed in the subject) when they are inserted.

Every problem is reported with its line and column, so the editor can say where to look.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Longest excerpt of a broken field quoted back in an error message.
_EXCERPT = 40


@dataclass(frozen=True)
class Field:
    """A ``{name}`` field and where it starts in the template text."""

    name: str
    offset: int


Part = str | Field


@dataclass(frozen=True)
class Problem:
    """One reason a template text cannot be used, with its 1-based line and column."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return _("line %(line)s, column %(column)s: %(message)s") % {
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


class TemplateTextError(ValueError):
    """A template text has problems; ``problems`` lists each with its position."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _excerpt(content: str) -> str:
    return content if len(content) <= _EXCERPT else content[:_EXCERPT] + "…"


def _field_problem(content: str, allowed: Collection[str]) -> str | None:
    """Why ``{content}`` is not an allowed field, or None when it is."""
    quoted = "{" + _excerpt(content) + "}"
    if _IDENTIFIER.match(content):
        if content in allowed:
            return None
        return _("unknown placeholder %(field)s; allowed are: %(allowed)s") % {
            "field": quoted,
            "allowed": ", ".join("{" + name + "}" for name in sorted(allowed)),
        }
    if not content:
        return _("empty placeholder {}; name one of the allowed placeholders")
    if content.isdigit():
        return _("positional placeholder %(field)s is not allowed; use a name") % {"field": quoted}
    if "." in content:
        return _("attribute access is not allowed in %(field)s") % {"field": quoted}
    if "[" in content or "]" in content:
        return _("indexing is not allowed in %(field)s") % {"field": quoted}
    if ":" in content:
        return _("format specifications are not allowed in %(field)s") % {"field": quoted}
    if "!" in content:
        return _("conversions are not allowed in %(field)s") % {"field": quoted}
    return _("%(field)s is not a placeholder name (letters, digits and _ only)") % {"field": quoted}


def parse(text: str, allowed: Collection[str]) -> list[Part]:
    """Split ``text`` into literal strings and fields; raise with every problem found."""
    parts: list[Part] = []
    problems: list[Problem] = []
    literal: list[str] = []
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char in "{}" and text.startswith(char * 2, index):
            literal.append(char)
            index += 2
            continue
        if char == "}":
            problems.append(
                Problem(*_position(text, index), _("single '}' — write '}}' for a literal brace"))
            )
            index += 1
            continue
        if char != "{":
            literal.append(char)
            index += 1
            continue
        end = text.find("}", index + 1)
        opening = text.find("{", index + 1)
        if end == -1 or (opening != -1 and opening < end):
            problems.append(
                Problem(
                    *_position(text, index),
                    _("'{' is never closed — write '{{' for a literal brace"),
                )
            )
            index += 1
            continue
        content = text[index + 1 : end]
        problem = _field_problem(content, allowed)
        if problem:
            problems.append(Problem(*_position(text, index), problem))
        else:
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Field(content, index))
        index = end + 1
    if problems:
        raise TemplateTextError(problems)
    if literal:
        parts.append("".join(literal))
    return parts


def check(text: str, allowed: Collection[str]) -> list[Problem]:
    """The problems of ``text`` (empty when it renders)."""
    try:
        parse(text, allowed)
    except TemplateTextError as exc:
        return exc.problems
    return []


def escape_html(value: str) -> str:
    """A value for the HTML body: ``& < > " '`` escaped, so it stays text in any position."""
    return html.escape(value, quote=True)


def escape_subject(value: str) -> str:
    """A value for a header: line breaks become spaces (no header injection)."""
    return " ".join(value.splitlines())


def keep(value: str) -> str:
    """A value for the plain-text body: unchanged."""
    return value


def render(
    text: str,
    values: Mapping[str, str],
    *,
    allowed: Collection[str],
    escape: Callable[[str], str],
) -> str:
    """``text`` with each field replaced by its escaped value.

    ``values`` must hold every field the text uses (a missing one raises KeyError: that is a
    sender's bug, not a template problem, since ``allowed`` was checked).
    """
    return "".join(
        part if isinstance(part, str) else escape(values[part.name])
        for part in parse(text, allowed)
    )
