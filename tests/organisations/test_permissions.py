"""The role table is the only definition of roles; docs/permissions.md renders it."""

from __future__ import annotations

import itertools
from pathlib import Path

from meterkms.organisations.permissions import (
    ROLE_PERMS,
    Perm,
    Role,
    may_grant,
    permission_matrix_markdown,
    perms_of,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_docs_permission_matrix_matches_the_role_table() -> None:
    assert permission_matrix_markdown() in DOC.read_text(encoding="utf-8"), (
        "docs/permissions.md is out of date: paste permission_matrix_markdown() into it"
    )


def test_roles_are_nested_from_viewer_to_otc_admin() -> None:
    order = [Role.VIEWER, Role.OPERATOR, Role.ADMIN, Role.OTC_ADMIN]
    for lower, higher in itertools.pairwise(order):
        assert ROLE_PERMS[lower] < ROLE_PERMS[higher]
    assert ROLE_PERMS[Role.OTC_ADMIN] == frozenset(Perm)


def test_viewer_never_reads_keys() -> None:
    assert Perm.KEYS_DOWNLOAD not in ROLE_PERMS[Role.VIEWER]
    assert Perm.KEYS_DOWNLOAD in ROLE_PERMS[Role.OPERATOR]


def test_granting_never_goes_above_the_granters_role() -> None:
    assert may_grant("ADMIN", "OPERATOR")
    assert may_grant("ADMIN", "ADMIN")
    assert not may_grant("ADMIN", "OTC_ADMIN")
    assert not may_grant("VIEWER", "OPERATOR")
    assert not may_grant("nonsense", "VIEWER")
    assert perms_of("nonsense") == frozenset()
