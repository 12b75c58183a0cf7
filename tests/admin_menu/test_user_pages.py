"""The "Anwender" pages: list with per-column filters and total, add, edit, password, actions."""

from __future__ import annotations

import re

import pytest

from meterkms.accounts.models import User
from tests.admin_menu.helpers import NEW_PASSWORD, fresh_user, unique_email
from tests.support.clients import HttpsClient
from tests.support.personas import PASSWORD, World


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


@pytest.mark.django_db
def test_the_list_has_the_manual_columns_and_total_of_the_own_tree(
    world: World, client_for
) -> None:
    page = client_for(world.adam).get("/admin/users/")
    text = page.content.decode()
    for heading in ("Name", "Email", "Organisation", "Roles"):
        assert f"<th>{heading}</th>" in text
    assert "Total users: 4" in text
    assert len(_rows(text)) == 4
    assert "alice@example.com" in text
    assert "OTC_ADMIN" in text
    assert "carol@example.com" not in text
    assert "Carol Utility" not in text


@pytest.mark.django_db
def test_every_column_filters_and_choices_come_from_the_own_tree(world: World, client_for) -> None:
    fresh_user(world.org_a_child)
    client = client_for(world.alice)
    page = client.get("/admin/users/").content.decode()
    for label in ("Name:", "Email:", "Organisation:", "Roles:"):
        assert label in page
    assert "Integra Service" in page
    assert "Carol Utility" not in page
    by_org = client.get(f"/admin/users/?organisation={world.org_a_child.pk}").content.decode()
    assert "Total users: 1" in by_org
    by_role = client.get("/admin/users/?role=OPERATOR").content.decode()
    assert "olga@example.com" in by_role
    assert "Total users: 1" in by_role
    by_name = client.get("/admin/users/?name=ALI").content.decode()
    assert "Total users: 1" in by_name
    by_email = client.get("/admin/users/?email=example.com").content.decode()
    assert "Total users: 4" in by_email  # the personas, not the fresh example.net user
    assert "Total users: 5" in client.get("/admin/users/").content.decode()
    foreign = client.get(f"/admin/users/?organisation={world.org_b.pk}").content.decode()
    assert "Total users: 0" in foreign
    assert "cecil@example.com" not in foreign


@pytest.mark.django_db
def test_htmx_requests_get_only_the_results(world: World, client_for) -> None:
    partial = client_for(world.adam).get("/admin/users/?role=VIEWER", HTTP_HX_REQUEST="true")
    text = partial.content.decode()
    assert text.lstrip().startswith('<div id="results">')
    assert "bob@example.com" in text
    assert "<html" not in text


@pytest.mark.django_db
def test_viewers_and_operators_get_no_user_pages(world: World, client_for) -> None:
    for persona in (world.olga, world.bob):
        assert client_for(persona).get("/admin/users/").status_code == 403
    admin_menu = client_for(world.bob).get("/menu/admin/").content.decode()
    assert "/admin/users/" not in admin_menu
    assert "/admin/organisations/" in admin_menu


@pytest.mark.django_db
def test_add_user_with_all_fields_forces_a_password_change(world: World, client_for) -> None:
    client = client_for(world.adam)
    form = client.get("/admin/users/add/").content.decode()
    assert 'value="OTC_ADMIN"' not in form  # adam may not grant it
    assert "Integra Service" in form
    email = unique_email("added")
    answer = client.post(
        "/admin/users/add/",
        {
            "name": "Anna Added",
            "email": email,
            "organisation": str(world.org_a_child.pk),
            "role": "OPERATOR",
            "language": "es",
            "csv_delimiter": "|",
            "csv_thousands_separator": ".",
            "password": NEW_PASSWORD,
        },
    )
    assert answer.status_code == 302
    user = User._base_manager.get(email=email)
    assert (user.role, user.language, user.csv_delimiter, user.csv_thousands_separator) == (
        "OPERATOR",
        "es",
        "|",
        ".",
    )
    assert user.must_change_password
    newcomer = HttpsClient()
    newcomer.post("/login/", {"username": email, "password": NEW_PASSWORD})
    assert "/password/change/" in newcomer.get("/")["Location"]
    assert "Anna Added has been added" in client.get("/admin/users/").content.decode()


@pytest.mark.django_db
def test_add_user_shows_policy_and_uniqueness_errors_on_the_form(world: World, client_for) -> None:
    client = client_for(world.adam)
    base = {
        "name": "X",
        "organisation": str(world.org_a.pk),
        "role": "VIEWER",
        "language": "de",
        "csv_delimiter": ";",
    }
    weak = client.post("/admin/users/add/", {**base, "email": unique_email(), "password": "abc"})
    assert "at least 12" in weak.content.decode()
    taken = client.post(
        "/admin/users/add/", {**base, "email": "olga@example.com", "password": NEW_PASSWORD}
    )
    assert "exists already" in taken.content.decode()
    foreign = client.post(
        "/admin/users/add/",
        {**base, "email": unique_email(), "password": NEW_PASSWORD, "organisation": world.org_b.pk},
    )
    assert "Select a valid choice" in foreign.content.decode()


@pytest.mark.django_db
def test_edit_user_saves_and_own_role_cannot_be_changed(world: World, client_for) -> None:
    client = client_for(world.adam)
    edit = client.get(f"/admin/users/{world.bob.pk}/edit/").content.decode()
    assert "bob@example.com" in edit
    assert 'name="password"' not in edit
    answer = client.post(
        f"/admin/users/{world.bob.pk}/edit/",
        {
            "name": "Bob Builder",
            "email": "bob@example.com",
            "organisation": str(world.org_a.pk),
            "role": "OPERATOR",
            "language": "sv",
            "csv_delimiter": ",",
            "csv_thousands_separator": "",
        },
    )
    assert answer.status_code == 302
    world.bob.refresh_from_db()
    assert (world.bob.name, world.bob.role, world.bob.language) == ("Bob Builder", "OPERATOR", "sv")
    own = client.post(
        f"/admin/users/{world.adam.pk}/edit/",
        {
            "name": "Adam A.",
            "email": "adam@example.com",
            "organisation": str(world.org_a_child.pk),
            "role": "VIEWER",
            "language": "en",
            "csv_delimiter": ";",
        },
    )
    assert own.status_code == 302
    world.adam.refresh_from_db()
    assert (world.adam.name, world.adam.role, world.adam.organisation_id) == (
        "Adam A.",
        "ADMIN",
        world.org_a.pk,
    )


@pytest.mark.django_db
def test_edit_of_a_higher_role_says_so_and_saves_nothing(world: World, client_for) -> None:
    client = client_for(world.adam)
    page = client.get(f"/admin/users/{world.alice.pk}/edit/").content.decode()
    assert "above your own" in page
    answer = client.post(
        f"/admin/users/{world.alice.pk}/edit/",
        {
            "name": "Alice Hacked",
            "email": "alice@example.com",
            "organisation": str(world.org_a.pk),
            "role": "OTC_ADMIN",
            "language": "en",
            "csv_delimiter": ";",
        },
    )
    assert answer.status_code == 200
    world.alice.refresh_from_db()
    assert world.alice.name == "Alice"


@pytest.mark.django_db
def test_password_page_sets_a_password_that_must_be_changed(world: World, client_for) -> None:
    client = client_for(world.adam)
    victim_session = client_for(world.bob)
    assert (
        "bob@example.com" in client.get(f"/admin/users/{world.bob.pk}/password/").content.decode()
    )
    mismatch = client.post(
        f"/admin/users/{world.bob.pk}/password/",
        {"new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD + "!"},
    )
    assert "The two passwords differ." in mismatch.content.decode()
    answer = client.post(
        f"/admin/users/{world.bob.pk}/password/",
        {"new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
    )
    assert answer.status_code == 302
    assert "/login/" in victim_session.get("/")["Location"]
    bob = HttpsClient()
    bob.post("/login/", {"username": "bob@example.com", "password": NEW_PASSWORD})
    assert "/password/change/" in bob.get("/")["Location"]


@pytest.mark.django_db
def test_deactivate_reactivate_and_delete_from_the_row_menu(world: World, client_for) -> None:
    client = client_for(world.adam)
    bob_browser = client_for(world.bob)
    list_page = client.get("/admin/users/").content.decode()
    assert f"/admin/users/{world.bob.pk}/deactivate/" in list_page
    assert 'data-confirm="confirm-deactivate"' in list_page
    client.post(f"/admin/users/{world.bob.pk}/deactivate/")
    assert "/login/" in bob_browser.get("/")["Location"]
    after = client.get("/admin/users/").content.decode()
    assert "deactivated" in after
    assert (
        HttpsClient()
        .post("/login/", {"username": "bob@example.com", "password": PASSWORD})
        .status_code
        == 200
    )
    client.post(f"/admin/users/{world.bob.pk}/reactivate/")
    assert User._base_manager.get(pk=world.bob.pk).is_active
    client.post(f"/admin/users/{world.bob.pk}/delete/")
    assert not User._base_manager.filter(pk=world.bob.pk).exists()
    refused = client.post(f"/admin/users/{world.adam.pk}/delete/", follow=True)
    assert "cannot delete your own account" in refused.content.decode()
