"""Capture text: the line formats people paste, comments, and a reason for every bad line."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.devices.enums import Technology
from meterkms.keys.proofs import Scheme, parse_capture, parse_capture_chunks
from meterkms.keys.proofs.lines import MAX_HEX_DIGITS, read_line

from .vectors import DES_MODE2, JOIN_ACCEPT, JOIN_REQUEST, MODE5_LONG_TPL, MODE7_WITH_CRCS

DES = DES_MODE2.frame


@pytest.mark.parametrize(
    "line",
    [
        DES,
        DES.lower(),
        f"  {DES}  ",
        f"0x{DES}",
        " ".join(DES[i : i + 2] for i in range(0, len(DES), 2)),
        ":".join(DES[i : i + 2] for i in range(0, len(DES), 2)),
        f"telegram=|{DES[:30]}_{DES[30:]}|",
        f"telegram=|{DES}|+32",
        f"T1;1;1;2019-04-03 19:00:42.000;97;148;00000001;0x{DES.lower()}",
        f"C1;1;1;2024-01-01 00:00:00.000;10;20;00000001;0x{DES}",
        f"{DES}  # captured at the front door",
    ],
)
def test_accepted_line_formats_give_the_same_frame(line):
    assert read_line(line) == DES_MODE2.frame_bytes


@pytest.mark.parametrize("line", ["", "   ", "# a comment", "// note", "; old style", "\t"])
def test_blank_and_comment_lines_are_skipped(line):
    assert read_line(line) is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("1E46 8B05 0G", "'G' at hex digit 10"),
        ("1E468B0", "odd number of hex digits (7)"),
        ("0x", "no hex digits"),
        ("telegram=|1E46", "telegram=|<hex>|"),
        ("telegram=|1E46|+x", "telegram=|<hex>|"),
        ("telegram=|zz|", "between the bars has 'z'"),
        ("T1;0;1;2019-04-03 19:00:42.000;97;148;00000001;0x1E46", "CRC error"),
        ("T1;1;0;2019-04-03 19:00:42.000;97;148;00000001;0x1E46", "3-out-of-6"),
        ("T1;1;1;2019-04-03;97;148;0x1E46", "8 fields"),
        ("X9;1;1;2019-04-03 19:00:42.000;97;148;00000001;0x1E46", "8 fields"),
        ("T1;1;1;2019-04-03 19:00:42.000;97;148;00000001;1E46", "start with 0x"),
        ("A" * (MAX_HEX_DIGITS + 2), "more than any telegram"),
        ("12\u00e934", "'U+00E9' at hex digit 3"),
        ("12\u200b34", "U+200B"),
    ],
)
def test_bad_lines_say_why(line, reason):
    result = read_line(line)
    assert isinstance(result, str)
    assert reason in result


def test_errors_carry_line_numbers_and_telegrams_keep_theirs():
    text = "\n".join(
        [
            "# capture of 2026-11-26",
            DES,
            "",
            "nonsense",
            MODE7_WITH_CRCS.frame,
            DES[:-2],
            "0E44B40512345678F1077A31000000",
        ]
    )
    parsed = parse_capture(text)
    assert [t.line for t in parsed.telegrams] == [2, 5, 7]
    assert [(e.line, "hex digit" in e.reason) for e in parsed.errors] == [(4, True), (6, False)]
    assert "L field 1E announces 31 bytes" in parsed.errors[1].reason
    assert parsed.lines == 7


def test_bytes_with_bom_crlf_and_invalid_utf8_are_read():
    data = (
        b"\xef\xbb\xbf"
        + DES.encode()
        + b"\r\n\xff\xfe\r\n"
        + MODE5_LONG_TPL.frame.encode()
        + b"\r\n"
    )
    parsed = parse_capture(data)
    assert [t.line for t in parsed.telegrams] == [1, 3]
    assert [e.line for e in parsed.errors] == [2]
    assert "U+FFFD" in parsed.errors[0].reason


def test_join_accept_is_paired_with_the_latest_join_request_before_it():
    parsed = parse_capture([JOIN_ACCEPT.frame, JOIN_REQUEST.frame, "# gap", JOIN_ACCEPT.frame])
    orphan, request, accept = parsed.telegrams
    assert orphan.scheme is Scheme.NONE
    assert "join request it answers" in orphan.cannot_tell
    assert accept.scheme is Scheme.JOIN_ACCEPT
    assert accept.request is request


def test_forcing_wmbus_reads_a_join_request_as_a_broken_wmbus_frame():
    parsed = parse_capture([JOIN_REQUEST.frame], technology=Technology.WMBUS)
    assert not parsed.telegrams
    assert "L field 00" in parsed.errors[0].reason


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 100])
def test_chunks_number_lines_and_pair_joins_across_chunk_boundaries(chunk_size):
    lines = [DES, JOIN_REQUEST.frame, "x", JOIN_ACCEPT.frame, "", MODE5_LONG_TPL.frame]
    whole = parse_capture(lines)
    chunks = list(parse_capture_chunks(lines, chunk_size=chunk_size))
    telegrams = [t for chunk in chunks for t in chunk.telegrams]
    errors = [e for chunk in chunks for e in chunk.errors]
    assert [(t.line, t.scheme) for t in telegrams] == [(t.line, t.scheme) for t in whole.telegrams]
    assert errors == whole.errors
    assert sum(chunk.lines for chunk in chunks) == len(lines)
    assert telegrams[2].scheme is Scheme.JOIN_ACCEPT


hexish = st.text(alphabet="0123456789abcdefABCDEF xX|;=_:-#/+T1C\t\u00e9\x00", max_size=120)


@given(text=st.one_of(st.text(max_size=400), hexish, st.lists(hexish, max_size=8).map("\n".join)))
@settings(max_examples=400, deadline=None)
def test_parse_capture_never_crashes_and_accounts_for_every_line(text):
    parsed = parse_capture(text)
    lines = text.split("\n")
    assert parsed.lines == len(lines)
    numbers = [t.line for t in parsed.telegrams] + [e.line for e in parsed.errors]
    assert len(numbers) == len(set(numbers))
    assert all(1 <= number <= len(lines) for number in numbers)
    assert all(error.reason for error in parsed.errors)


@given(data=st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_parse_capture_of_raw_bytes_never_crashes(data):
    parsed = parse_capture(data)
    assert all(error.reason for error in parsed.errors)
