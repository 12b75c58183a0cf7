"""The "Organisationen" pages and the partner pages."""

from __future__ import annotations

import uuid

import pytest

from meterkms.organisations.models import Organisation, Partnership
from tests.admin_menu.helpers import fresh_child, fresh_root, fresh_user, link_between
from tests.support.personas import World


@pytest.mark.django_db
def test_the_list_has_the_manual_columns_filters_and_total(world: World, client_for) -> None:
    Organisation._base_manager.filter(pk=world.org_a_child.pk).update(customer_reference="K-17")
    client = client_for(world.bob)
    text = client.get("/admin/organisations/").content.decode()
    for heading in ("Name", "Your reference", "May create other organisations"):
        assert f"<th>{heading}</th>" in text
    for label in ("Organisation:", "Parent organisation:", "Customer reference:"):
        assert label in text
    assert "Total organisations: 2" in text
    assert "✔" in text
    assert "K-17" in text
    assert "Carol Utility" not in text
    assert "/admin/organisations/add/" not in text  # viewers create nothing
    by_parent = client.get(f"/admin/organisations/?parent={world.org_a.pk}").content.decode()
    assert "Total organisations: 1" in by_parent
    by_reference = client.get("/admin/organisations/?customer_reference=K-17").content.decode()
    assert "Total organisations: 1" in by_reference
    by_org = client.get(f"/admin/organisations/?organisation={world.org_a.pk}").content.decode()
    assert "Total organisations: 1" in by_org
    foreign = client.get(f"/admin/organisations/?parent={world.org_b.pk}").content.decode()
    assert "Total organisations: 0" in foreign


@pytest.mark.django_db
def test_the_parent_of_the_own_organisation_stays_hidden(world: World, client_for) -> None:
    child_admin = fresh_user(world.org_a_child)
    text = client_for(child_admin).get("/admin/organisations/").content.decode()
    assert "Integra Service" in text
    assert ">Integra<" not in text
    assert "Total organisations: 1" in text


@pytest.mark.django_db
def test_add_and_edit_an_organisation_with_its_copyable_id(world: World, client_for) -> None:
    client = client_for(world.adam)
    listed = client.get("/admin/organisations/").content.decode()
    assert "/admin/organisations/add/" in listed
    answer = client.post(
        "/admin/organisations/add/",
        {
            "name": "Depot Süd",
            "parent": str(world.org_a_child.pk),
            "customer_reference": "R-5",
            "may_create_organisations": "on",
        },
    )
    assert answer.status_code == 302
    depot = Organisation._base_manager.get(name="Depot Süd")
    assert depot.parent_id == world.org_a_child.pk
    assert depot.may_create_organisations
    edit = client.get(f"/admin/organisations/{depot.pk}/edit/").content.decode()
    assert str(depot.pk) in edit
    assert 'data-copy="organisation-id"' in edit
    moved = client.post(
        f"/admin/organisations/{depot.pk}/edit/",
        {"name": "Depot South", "parent": str(world.org_a.pk), "customer_reference": ""},
    )
    assert moved.status_code == 302
    depot.refresh_from_db()
    assert (depot.name, depot.parent_id, depot.may_create_organisations) == (
        "Depot South",
        world.org_a.pk,
        False,
    )


@pytest.mark.django_db
def test_the_edit_page_offers_no_parent_that_would_make_a_cycle(world: World, client_for) -> None:
    depot = fresh_child(world.org_a_child, "Depot Below")
    edit = client_for(world.adam).get(f"/admin/organisations/{world.org_a_child.pk}/edit/")
    options = edit.content.decode().split('name="parent"', 1)[1].split("</select>", 1)[0]
    assert str(world.org_a.pk) in options
    assert str(depot.pk) not in options
    assert f'value="{world.org_a_child.pk}"' not in options
    forced = client_for(world.adam).post(
        f"/admin/organisations/{world.org_a_child.pk}/edit/",
        {"name": "Integra Service", "parent": str(depot.pk)},
    )
    assert "Select a valid choice" in forced.content.decode()


@pytest.mark.django_db
def test_an_admin_cannot_move_or_reflag_their_own_organisation(world: World, client_for) -> None:
    client = client_for(world.carol)
    page = client.get(f"/admin/organisations/{world.org_b.pk}/edit/").content.decode()
    assert "This is your own organisation" in page
    client.post(
        f"/admin/organisations/{world.org_b.pk}/edit/",
        {"name": "Carol Utility AG", "customer_reference": "me"},
    )
    world.org_b.refresh_from_db()
    assert world.org_b.name == "Carol Utility AG"
    assert world.org_b.may_create_organisations


@pytest.mark.django_db
def test_deleting_is_refused_while_users_exist_and_works_when_empty(
    world: World, client_for
) -> None:
    client = client_for(world.adam)
    fresh_user(world.org_a_child)
    refused = client.post(f"/admin/organisations/{world.org_a_child.pk}/delete/", follow=True)
    assert "still owns" in refused.content.decode()
    empty = fresh_child(world.org_a, "Empty Branch")
    client.post(f"/admin/organisations/{empty.pk}/delete/")
    assert not Organisation._base_manager.filter(pk=empty.pk).exists()


@pytest.mark.django_db
def test_an_organisation_without_the_right_offers_no_add(world: World, client_for) -> None:
    child_admin = fresh_user(world.org_a_child)
    from meterkms.accounts.models import User

    User._base_manager.filter(pk=child_admin.pk).update(role="ADMIN")
    client = client_for(User._base_manager.get(pk=child_admin.pk))
    assert "/admin/organisations/add/" not in client.get("/admin/organisations/").content.decode()
    assert client.get("/admin/organisations/add/").status_code == 403


@pytest.mark.django_db
def test_partner_add_links_both_sides_and_either_removes(world: World, client_for) -> None:
    adam, carol = client_for(world.adam), client_for(world.carol)
    assert "Add partner" in adam.get("/admin/organisations/").content.decode()
    answer = adam.post(
        "/admin/partners/add/",
        {"organisation": str(world.org_a.pk), "partner_id": str(world.org_b.pk)},
    )
    assert answer.status_code == 302
    ours = adam.get("/admin/partners/").content.decode()
    theirs = carol.get("/admin/partners/").content.decode()
    assert "Carol Utility" in ours
    assert "Integra" in theirs
    assert "Total partners: 1" in ours
    assert "Total partners: 1" in theirs
    link = Partnership._base_manager.get()
    carol.post(f"/admin/partners/{link.pk}/remove/")
    assert not Partnership._base_manager.exists()
    assert "Total partners: 0" in adam.get("/admin/partners/").content.decode()


@pytest.mark.django_db
def test_partner_form_answers_unknown_and_unlinkable_ids_alike(world: World, client_for) -> None:
    child_admin = fresh_user(world.org_a_child)
    from meterkms.accounts.models import User

    User._base_manager.filter(pk=child_admin.pk).update(role="ADMIN")
    client = client_for(User._base_manager.get(pk=child_admin.pk))
    answers = []
    for pasted in (str(uuid.uuid4()), "garbage", str(world.org_a.pk)):
        page = client.post(
            "/admin/partners/add/",
            {"organisation": str(world.org_a_child.pk), "partner_id": pasted},
        )
        text = page.content.decode()
        answers.append(text.split('<ul class="errorlist"', 1)[1].split("</ul>", 1)[0])
    assert len(set(answers)) == 1
    assert "No organisation with this ID can be added as a partner." in answers[0]
    own = client.post(
        "/admin/partners/add/",
        {"organisation": str(world.org_a_child.pk), "partner_id": str(world.org_a_child.pk)},
    )
    assert "own organisation tree" in own.content.decode()
    assert not Partnership._base_manager.exists()


@pytest.mark.django_db
def test_partner_list_shows_links_of_the_own_tree_only(world: World, client_for) -> None:
    link_between(world.org_b, fresh_root("Far Away Ltd"))
    link_between(world.org_a_child, fresh_root("Near Partner AG"))
    text = client_for(world.alice).get("/admin/partners/").content.decode()
    assert "Near Partner AG" in text
    assert "Far Away Ltd" not in text
    assert "Total partners: 1" in text
    filtered = client_for(world.alice).get(f"/admin/partners/?organisation={world.org_a.pk}")
    assert "Total partners: 0" in filtered.content.decode()
