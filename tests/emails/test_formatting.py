"""The safe formatter: only named placeholders, positions for every problem, escaped values."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.emails import formatting
from meterkms.emails.formatting import Field, TemplateTextError

ALLOWED = frozenset({"recipient_name", "link", "organisation"})


def _problems(text: str) -> list[formatting.Problem]:
    return formatting.check(text, ALLOWED)


def test_literal_text_and_fields_are_split() -> None:
    parts = formatting.parse("Hi {recipient_name}, {{literal}} }} {link}", ALLOWED)
    assert parts == [
        "Hi ",
        Field("recipient_name", 3),
        ", {literal} } ",
        Field("link", 36),
    ]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("Hello {name}", 1, 7, "unknown placeholder {name}; allowed are: {link}, {organisation}"),
        ("a\nbc {recipient_name.password}", 2, 4, "attribute access is not allowed"),
        ("{link.__class__.__mro__}", 1, 1, "attribute access is not allowed"),
        ("{organisation[0]}", 1, 1, "indexing is not allowed"),
        ("x\n\n   {link:>99999}", 3, 4, "format specifications are not allowed"),
        ("{link!r}", 1, 1, "conversions are not allowed"),
        ("{0}", 1, 1, "positional placeholder {0} is not allowed"),
        ("{}", 1, 1, "empty placeholder {}"),
        ("{ link }", 1, 1, "is not a placeholder name"),
        ("open { here", 1, 6, "'{' is never closed"),
        ("{link {organisation}", 1, 1, "'{' is never closed"),
        ("closing } here", 1, 9, "single '}'"),
    ],
)
def test_problems_name_their_line_and_column(
    text: str, line: int, column: int, message: str
) -> None:
    problems = _problems(text)
    assert problems, text
    assert (problems[0].line, problems[0].column) == (line, column)
    assert message in problems[0].message
    assert f"line {line}, column {column}: " in str(problems[0])


def test_every_problem_is_reported_not_only_the_first() -> None:
    problems = _problems("{a}\n{b.c}\n}")
    assert [(p.line, p.column) for p in problems] == [(1, 1), (2, 1), (3, 1)]
    with pytest.raises(TemplateTextError) as raised:
        formatting.parse("{a}\n{b.c}\n}", ALLOWED)
    assert raised.value.problems == problems


def test_long_broken_fields_are_shortened_in_messages() -> None:
    (problem,) = _problems("{" + "x." * 500 + "}")
    assert len(problem.message) < 200


def test_values_are_escaped_for_their_part() -> None:
    value = '<b onclick="x">&\'</b>\r\nBcc: evil@example.com'
    values = {"recipient_name": value, "link": "https://e.example/?a=1&b=2"}
    text = "{recipient_name} {link}"
    rendered_html = formatting.render(text, values, allowed=ALLOWED, escape=formatting.escape_html)
    assert rendered_html == html.escape(value, quote=True) + " https://e.example/?a=1&amp;b=2"
    subject = formatting.render(text, values, allowed=ALLOWED, escape=formatting.escape_subject)
    assert "\n" not in subject
    assert "\r" not in subject
    plain = formatting.render(text, values, allowed=ALLOWED, escape=formatting.keep)
    assert plain == f"{value} https://e.example/?a=1&b=2"


def test_a_value_that_looks_like_a_placeholder_stays_text() -> None:
    values = {"recipient_name": "{link} {link.__class__}", "link": "L"}
    assert (
        formatting.render(
            "{recipient_name}|{link}", values, allowed=ALLOWED, escape=formatting.keep
        )
        == "{link} {link.__class__}|L"
    )


_field = st.sampled_from(sorted(ALLOWED)).map(lambda name: "{" + name + "}")
_text = st.lists(
    st.one_of(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=8), _field),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_either_renders_or_names_positions_inside_it(text: str) -> None:
    problems = _problems(text)
    for problem in problems:
        assert 1 <= problem.line <= text.count("\n") + 1
        assert problem.column >= 1
    if not problems:
        values = dict.fromkeys(ALLOWED, "<&>")
        rendered = formatting.render(text, values, allowed=ALLOWED, escape=formatting.escape_html)
        assert "<&>" not in rendered


@settings(max_examples=300, deadline=None)
@given(_text, st.text(max_size=20))
def test_valid_templates_render_exactly_their_fields(text: str, value: str) -> None:
    values = dict.fromkeys(ALLOWED, value)
    rendered = formatting.render(text, values, allowed=ALLOWED, escape=formatting.keep)
    expected = text
    for name in ALLOWED:
        expected = expected.replace("{" + name + "}", value)
    assert rendered == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="{}ab.[]:!0 \n", max_size=30))
def test_nothing_but_a_bare_allowed_name_is_ever_a_field(text: str) -> None:
    try:
        parts = formatting.parse(text, ALLOWED | {"a", "b", "ab", "ba"})
    except TemplateTextError:
        return
    for part in parts:
        if isinstance(part, Field):
            assert part.name.isidentifier()
