"""The serial-list reader: positions, tolerance, and that it never fails on any input."""

from __future__ import annotations

import codecs
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from meterkms.batches.serials import (
    MAX_ENTRY_CHARS,
    Entry,
    Problem,
    entries_from_list,
    read_serials,
    read_text,
)
from meterkms.devices.importers.fields import FieldError
from meterkms.devices.importers.fields import serial as check_serial

SERIAL = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,20}", fullmatch=True)
SEPARATOR = st.sampled_from([",", ";", "\n", "\r\n", "\r", ", ", " ;\t", ",\n", "\n\n", "\r\n\r\n"])


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given positions (arbitrary chunk boundaries)."""
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    pieces.append(data[start:])
    return pieces


def _lines(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text)


@st.composite
def serial_files(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, int]]]:
    """A file text with its serials and their expected (serial, line, column)."""
    serials = draw(st.lists(SERIAL, min_size=1, max_size=30))
    text, expected = "", []
    for serial in serials:
        quoted = draw(st.booleans())
        lead = draw(st.sampled_from(["", " ", "\t", "  "]))
        lines = _lines(text)
        line, column = len(lines), len(lines[-1]) + len(lead) + 1
        expected.append((serial, line, column))
        text += lead + (f'"{serial}"' if quoted else serial) + draw(SEPARATOR)
    return text, expected


@given(serial_files(), st.lists(st.integers(min_value=0), max_size=8), st.booleans())
@settings(max_examples=200, deadline=None)
def test_serials_come_back_in_order_with_their_line_and_column(
    case: tuple[str, list[tuple[str, int, int]]], cuts: list[int], bom: bool
) -> None:
    text, expected = case
    data = (codecs.BOM_UTF8 if bom else b"") + text.encode()
    found = list(read_serials(_split(data, cuts), source="f.csv", skip_header=False))
    assert all(isinstance(item, Entry) for item in found), found
    assert [(e.serial, e.line, e.column) for e in found] == expected
    assert {e.source for e in found} == {"f.csv"}


@given(st.binary(max_size=400), st.lists(st.integers(min_value=0), max_size=6))
@settings(max_examples=300, deadline=None)
@example(b'"open', [])
@example(b'\xff\xfe"\x00', [1])
@example(b"\xef\xbb", [1])
@example(b'a""b,"x"y,\r', [3])
def test_any_bytes_are_read_without_error_and_problems_have_positions(
    data: bytes, cuts: list[int]
) -> None:
    found = list(read_serials(_split(data, cuts), source="f"))
    for item in found:
        assert item.line >= 1
        assert item.column >= 1
        if isinstance(item, Problem):
            assert item.message
            assert len(item.serial) <= 64


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_typed_text_is_read_without_error(text: str) -> None:
    for item in read_text(text, source="typed"):
        assert item.line >= 1
        assert item.column >= 1


ALPHABET = st.text(alphabet='AB1.-_/ ,;\t\r\n"x\ufeffé', max_size=200)


@given(ALPHABET, st.lists(st.integers(min_value=0), max_size=6))
@settings(max_examples=300, deadline=None)
def test_chunk_boundaries_never_change_the_result(text: str, cuts: list[int]) -> None:
    data = text.encode()
    whole = list(read_serials([data], source="f"))
    assert list(read_serials(_split(data, cuts), source="f")) == whole


@given(ALPHABET)
@settings(max_examples=300, deadline=None)
@example('x,"A""B",\t" 1"\n\t1')
def test_positions_point_at_the_entry_in_the_text(text: str) -> None:
    lines = _lines(text)
    for item in read_text(text, source="typed"):
        at = lines[item.line - 1][item.column - 1 :]
        if at.startswith('"'):  # a quoted entry stands at its opening quote
            at = at[1:].lstrip(" \t\ufeff").replace('""', '"')
        if isinstance(item, Entry):
            assert at.startswith(item.serial)
        elif item.serial:
            # Messages show control characters as "?".
            shown = "".join(c if c.isprintable() else "?" for c in at[: len(item.serial)])
            assert shown == item.serial


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_an_entry_is_accepted_exactly_when_it_is_a_serial_number(token: str) -> None:
    cleaned = token.strip(" \t\ufeff")
    if not cleaned or any(char in cleaned for char in ',;\r\n"'):
        return
    try:
        check_serial(cleaned)
        valid = True
    except FieldError:
        valid = False
    found = list(read_text(token, source="typed"))
    assert len(found) == 1
    assert isinstance(found[0], Entry) is valid


def test_bom_crlf_quotes_blank_lines_and_a_header_are_tolerated() -> None:
    data = codecs.BOM_UTF8 + b'Serial\r\n"21N001052";21N001064\r\n\r\n  9999990 ,\r\n'
    found = list(read_serials([data], source="f.csv"))
    assert found == [
        Entry("21N001052", 2, 1, "f.csv"),
        Entry("21N001064", 2, 13, "f.csv"),
        Entry("9999990", 4, 3, "f.csv"),
    ]


def test_utf16_files_of_spreadsheets_are_read() -> None:
    data = "Seriennummer\r\nY20TA010056\r\nY20TA010057\r\n".encode("utf-16")
    assert [e.serial for e in read_serials([data], source="f.txt")] == [
        "Y20TA010056",
        "Y20TA010057",
    ]


def test_typed_text_keeps_a_first_entry_that_looks_like_a_header() -> None:
    assert [e.serial for e in read_text("serial, A1", source="typed")] == ["serial", "A1"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"A1', [(1, 1, "the closing quote is missing")]),
        ('"A1"x', [(1, 1, "unexpected text after the closing quote")]),
        ("A 1", [(1, 1, "not a valid serial number")]),
        ("ok, -bad", [(1, 5, "not a valid serial number")]),
        ("x" * 65, [(1, 1, "longer than 64 characters")]),
        ("\n\n  " + "y" * (MAX_ENTRY_CHARS * 4), [(3, 3, "longer than 64 characters")]),
    ],
)
def test_problems_name_line_and_column(text: str, expected: list[tuple[int, int, str]]) -> None:
    found = [item for item in read_text(text, source="typed") if isinstance(item, Problem)]
    assert [(p.line, p.column, p.message) for p in found] == expected


def test_a_stream_stops_after_its_cap_and_says_so() -> None:
    found = list(read_text("A1,A2,A3,A4", source="typed", max_entries=2))
    assert [e.serial for e in found if isinstance(e, Entry)] == ["A1", "A2"]
    assert [(p.line, p.column) for p in found if isinstance(p, Problem)] == [(1, 7)]
    assert "more than 2" in found[-1].message


def test_a_list_of_serials_is_checked_entry_by_entry() -> None:
    found = list(entries_from_list(["A1", " ", "b d", "C3"], source="serials"))
    assert found[0] == Entry("A1", 1, 1, "serials")
    assert (found[1].line, found[1].message) == (2, "the serial number is missing")
    assert (found[2].line, found[2].message) == (3, "not a valid serial number")
    assert found[3] == Entry("C3", 4, 1, "serials")


def test_a_hundred_thousand_serials_are_read_in_one_pass() -> None:
    data = ("\r\n".join(f"SN{i:09d}" for i in range(100_000)) + "\r\n").encode()
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    found = list(read_serials(chunks, source="big.csv"))
    assert len(found) == 100_000
    assert found[-1] == Entry("SN000099999", 100_000, 1, "big.csv")
