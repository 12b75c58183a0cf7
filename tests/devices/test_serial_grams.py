"""Serial-number "contains" through the gram index: no device missed, whatever its characters."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from meterkms.devices.grams import gram_query, serial_grams
from meterkms.devices.models import Device
from tests.support.catalogue import make_device
from tests.support.personas import World

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
#: Any character PostgreSQL text can hold (no NUL), the tsquery syntax's own first.
CHARACTERS = st.one_of(
    st.sampled_from("'\\:&|!()<*-  9"),
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
)
SERIALS = st.text(CHARACTERS, min_size=1, max_size=24)
NASTY = [
    "ABC00099912",
    "99999",
    "X999",
    "999",
    "AB",
    "A",
    "it's-a:b",
    "back\\slash\\99",
    "a & b | !c",
    "(x<->y):*",
    "Zähler ÄÖÜ 0042",
    "  lead and trail  ",
    "''''",
    "9999999999",
    "99x99",
]


def _patterns(serials: list[str]) -> set[str]:
    """Every substring of length 1 to 6 of the serials, and some that match none."""
    found = {s[i : i + n] for s in serials for n in range(1, 7) for i in range(len(s) - n + 1)}
    return found | {"999999", "zzz", "'':", "\\\\", "ÄÖÜ 0043"}


@given(serial=SERIALS, data=st.data())
def test_every_serial_containing_a_pattern_holds_its_grams(serial: str, data) -> None:
    """The scheme itself: what the query asks for, a containing serial's lexemes have."""
    start = data.draw(st.integers(0, len(serial) - 1))
    end = data.draw(st.integers(start + 1, len(serial)))
    pattern = serial[start:end]
    grams = serial_grams(serial)
    if len(pattern) < 3:
        assert gram_query(pattern) is None
    elif len(pattern) == 3:
        assert any(gram.startswith(pattern) for gram in grams)
    else:
        starts = [*range(0, len(pattern) - 3, 4), len(pattern) - 4]
        assert {pattern[i : i + 4] for i in starts} <= grams


def test_the_query_quotes_every_operand() -> None:
    assert gram_query("ab") is None
    assert gram_query("a'b") == "'a''b':*"
    assert gram_query("99999") == "'9999'"
    assert gram_query("12345") == "'1234' & '2345'"
    assert gram_query("a\\b:c") == "'a\\\\b:' & '\\\\b:c'"
    assert gram_query("ABCDEFGHI") == "'ABCD' & 'EFGH' & 'FGHI'"


@pytest.mark.django_db
def test_the_lookup_finds_exactly_the_serials_containing_the_text(world: World) -> None:
    """On every database: Python's own ``in`` (upper and lower case differ)."""
    for serial in [*NASTY, "abc0042", "ABC0042"]:
        make_device(world.org_a, serial)
    devices = Device._base_manager.filter(owner=world.org_a)
    serials = [*NASTY, "abc0042", "ABC0042"]
    for pattern in sorted(_patterns(serials) | {"abc", "bC0", "ZÄHLER"}):
        found = set(devices.filter(serial__gram_contains=pattern).values_list("serial", flat=True))
        assert found == {s for s in serials if pattern in s}, pattern


@pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
@pytest.mark.postgres
@pytest.mark.django_db
@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(serial=SERIALS, data=st.data())
def test_the_database_function_and_query_agree_with_the_scheme(serial: str, data) -> None:
    """The index's function computes the reference lexemes, and the query text PostgreSQL
    parses matches every serial containing the pattern (quoting included)."""
    start = data.draw(st.integers(0, len(serial) - 1))
    end = data.draw(st.integers(start + 1, len(serial)))
    pattern = serial[start:end]
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(meterkms_serial_grams(%s))", [serial])
        assert set(cursor.fetchone()[0]) == serial_grams(serial)
        query = gram_query(pattern)
        if query is not None:
            cursor.execute("SELECT meterkms_serial_grams(%s) @@ %s::tsquery", [serial, query])
            assert cursor.fetchone()[0] is True, (serial, pattern, query)
