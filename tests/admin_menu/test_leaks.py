"""Lists never leak: rows, counts and filter choices of the admin lists stay in the own tree.

Both trees hold leakable rows (users, invitations, sub-organisations, partner links) with
marked names. Every list, web and API, is called with every documented filter — set to a
value of the own tree, to a value of the other tree — and with injected tenant parameters.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from meterkms.accounts.models import User
from tests.admin_menu.helpers import fresh_child, fresh_root, fresh_user, link_between
from tests.support.personas import World, make_user

INJECTED = ("org", "organization", "organization_id", "organisation_id", "tenant")


def _plant(world: World) -> dict[str, dict[str, Any]]:
    """Marked rows in both trees; returns each tree's ids for filter values."""
    from tests.admin_menu.helpers import invitation_with_token

    trees: dict[str, dict[str, Any]] = {}
    for tag, root in (("A", world.org_a), ("B", world.org_b)):
        depot = fresh_child(root, f"LEAK-{tag}-Depot")
        from meterkms.organisations.models import Organisation

        Organisation._base_manager.filter(pk=depot.pk).update(customer_reference=f"LEAK-{tag}-REF")
        from meterkms.core import tenancy

        with tenancy.crossing("test set-up"):
            person = make_user(f"leak-{tag.lower()}@example.org", depot, name=f"LEAK-{tag}-Person")
        invitation, _token = invitation_with_token(depot, email=f"leak-inv-{tag.lower()}@x.org")
        User._base_manager.filter(pk=person.pk).update(role="OPERATOR")
        link = link_between(depot, fresh_root(f"LEAK-{tag}-Partner"))
        trees[tag] = {
            "root": root,
            "depot": depot,
            "person": person,
            "invitation": invitation,
            "link": link,
        }
    return trees


def _filters(tree: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    depot = tree["depot"]
    return {
        "users": [
            {"organisation": str(depot.pk)},
            {"name": tree["person"].name},
            {"email": tree["person"].email},
            {"role": "OPERATOR"},
            {"state": "active"},
        ],
        "invitations": [
            {"organisation": str(depot.pk)},
            {"state": "pending"},
            {"role": "VIEWER"},
            {"email": tree["invitation"].email},
            {"name": "Ines"},
        ],
        "organisations": [
            {"organisation": str(depot.pk)},
            {"parent": str(tree["root"].pk)},
            {"customer_reference": depot.customer_reference or "LEAK"},
        ],
        "partners": [{"organisation": str(depot.pk)}, {"partner": "LEAK"}],
    }


def _results(html: bytes) -> bytes:
    start = html.index(b'<div id="results">')
    return html[start:]


LISTS = {
    "users": ("/admin/users/", "/api/v1/users"),
    "invitations": ("/admin/invitations/", "/api/v1/invitations"),
    "organisations": ("/admin/organisations/", "/api/v1/organisations"),
    "partners": ("/admin/partners/", "/api/v1/partners"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "own", "other"), [("alice", "A", "B"), ("carol", "B", "A")])
def test_no_list_leaks_rows_counts_or_choices_of_the_other_tree(
    world: World, client_for, persona: str, own: str, other: str
) -> None:
    trees = _plant(world)
    trees[own]["depot"].refresh_from_db()
    trees[other]["depot"].refresh_from_db()
    client = client_for(world.people[persona])
    foreign_marker = f"LEAK-{other}-".encode()
    foreign_roots = [trees[other]["root"].name.encode()]
    checked = 0
    for name, (web, api) in LISTS.items():
        baseline = client.get(api).json()["count"]
        assert baseline > 0, name
        variants = [{}, *_filters(trees[own])[name], *_filters(trees[other])[name]]
        variants += [{param: str(trees[other]["root"].pk)} for param in INJECTED]
        for params in variants:
            page = client.get(web, params)
            answer = client.get(api, params)
            # A text filter echoes what was typed: outside the unfiltered page only the
            # results (rows and total) are checked on the web side.
            web_body = page.content if not params else _results(page.content)
            for body in (web_body, answer.content):
                # An invalid choice is named back in the error: that echo is the caller's.
                for value in params.values():
                    body = body.replace(value.encode(), b"")
                assert foreign_marker not in body, (name, params)
                for root in foreign_roots:
                    assert root not in body, (name, params)
            if answer.status_code == 200:
                data = answer.json()
                assert data["count"] <= baseline
                assert data["count"] == len(data["items"])
                if set(params) <= set(INJECTED):
                    assert data["count"] == baseline, (name, params)
            else:
                assert answer.status_code == 422, (name, params)
            checked += 1
    assert checked == 54  # 4 lists × (unfiltered + own + foreign filters + 5 injected)


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(LISTS))
def test_each_list_costs_the_same_queries_for_one_row_and_three(
    world: World, client_for, name: str
) -> None:
    from meterkms.core import tenancy
    from tests.admin_menu.helpers import invitation_with_token

    lonely_root = fresh_root(f"Query Count {name}")
    with tenancy.crossing("test set-up"):
        admin = make_user(f"qc-{name}@example.org", lonely_root, name="QC Admin")
    User._base_manager.filter(pk=admin.pk).update(role="OTC_ADMIN")
    admin = User._base_manager.get(pk=admin.pk)
    client = client_for(admin)
    web, _api = LISTS[name]

    def add_row(number: int) -> None:
        depot = fresh_child(lonely_root, f"QC Depot {number}")
        if name == "users":
            fresh_user(depot)
        elif name == "invitations":
            invitation_with_token(depot)
        elif name == "partners":
            link_between(depot, fresh_root(f"QC Partner {number}"))

    def queries() -> int:
        client.get(web)  # warm caches (sessions, templates)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(web).status_code == 200
        return len(captured)

    add_row(1)
    one = queries()
    add_row(2)
    add_row(3)
    assert queries() == one
