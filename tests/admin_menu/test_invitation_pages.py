"""The invitation pages: list states, add → review → send, edit/resend/revoke, accepting."""

from __future__ import annotations

import re
import secrets
import statistics
import time
from typing import Any

import pytest
from django.core import mail

from meterkms.accounts.models import User
from meterkms.organisations import invitations
from meterkms.organisations.models import Invitation
from tests.admin_menu.helpers import NEW_PASSWORD, invitation_with_token, unique_email
from tests.support.clients import HttpsClient
from tests.support.personas import World

LINK = re.compile(r"https://\S+?(/invitations/accept/[A-Za-z0-9_-]+/)")


def _form(world: World, **extra: Any) -> dict[str, Any]:
    values = {
        "name": "Nina Neu",
        "email": unique_email("nina"),
        "organisation": str(world.org_a_child.pk),
        "role": "OPERATOR",
        "language": "de",
    }
    values.update(extra)
    return values


@pytest.mark.django_db
def test_the_empty_list_says_no_user_invites(world: World, client_for) -> None:
    page = client_for(world.adam).get("/admin/invitations/")
    assert page.status_code == 200
    assert "No user invites" in page.content.decode()
    assert "Total invitations: 0" in page.content.decode()


@pytest.mark.django_db
def test_the_list_shows_each_state_and_filters_by_it(world: World, client_for) -> None:
    _pending, _ = invitation_with_token(world.org_a, email="pending@example.net")
    _expired, _ = invitation_with_token(world.org_a, expired=True, email="expired@example.net")
    revoked, _ = invitation_with_token(world.org_a, email="revoked@example.net")
    invitations.revoke_invitation(actor=world.adam, invitation=revoked)
    _accepted, token = invitation_with_token(world.org_a, email="accepted@example.net")
    invitations.accept_invitation(token=token, password=NEW_PASSWORD, confirmation=NEW_PASSWORD)
    invitation_with_token(world.org_b, email="foreign@example.net")
    client = client_for(world.adam)
    text = client.get("/admin/invitations/").content.decode()
    for state in ("pending", "expired", "revoked", "accepted"):
        assert f"{state}@example.net" in text
        assert f">{state}<" in text
    assert "foreign@example.net" not in text
    assert "Total invitations: 4" in text
    only_expired = client.get("/admin/invitations/?state=expired").content.decode()
    assert "expired@example.net" in only_expired
    assert "pending@example.net" not in only_expired
    assert "Total invitations: 1" in only_expired


@pytest.mark.django_db
def test_add_review_with_preview_then_send(
    world: World, client_for, django_capture_on_commit_callbacks
) -> None:
    client = client_for(world.adam)
    form = client.get("/admin/invitations/add/").content.decode()
    assert 'name="email"' in form
    assert "Carol Utility" not in form
    data = _form(world)
    review = client.post("/admin/invitations/add/", data)
    text = review.content.decode()
    assert review.status_code == 200
    assert "Email preview" in text
    assert "Nina Neu" in text
    assert "Adam lädt Sie zu meterkms ein" in text or "Adam" in text
    assert "••••••" in text  # the link is masked in the preview
    assert not Invitation._base_manager.exists()
    assert 'data-confirm="confirm-send"' in text
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/admin/invitations/send/", data)
    assert sent.status_code == 302
    assert sent["Location"] == "/admin/invitations/"
    listed = client.get("/admin/invitations/").content.decode()
    assert f"The invitation has been sent to {data['email']}" in listed
    invitation = Invitation._base_manager.get(email=data["email"])
    assert (invitation.role, invitation.organisation_id, invitation.language) == (
        "OPERATOR",
        world.org_a_child.pk,
        "de",
    )
    [message] = mail.outbox
    assert LINK.search(message.body)


@pytest.mark.django_db
def test_the_review_refuses_what_the_service_refuses(world: World, client_for) -> None:
    client = client_for(world.adam)
    above = client.post("/admin/invitations/add/", _form(world, role="OTC_ADMIN"))
    assert "Select a valid choice" in above.content.decode()
    taken = client.post("/admin/invitations/add/", _form(world, email="bob@example.com"))
    assert "exists already" in taken.content.decode()
    foreign = client.post(
        "/admin/invitations/send/", _form(world, organisation=str(world.org_b.pk))
    )
    assert foreign.status_code == 200
    assert "Select a valid choice" in foreign.content.decode()
    assert not Invitation._base_manager.exists()


@pytest.mark.django_db
def test_edit_resend_and_revoke_from_the_list(
    world: World, client_for, django_capture_on_commit_callbacks
) -> None:
    invitation, token = invitation_with_token(world.org_a)
    client = client_for(world.adam)
    edit = client.get(f"/admin/invitations/{invitation.pk}/edit/").content.decode()
    assert invitation.email in edit
    saved = client.post(
        f"/admin/invitations/{invitation.pk}/edit/",
        _form(world, email=invitation.email, name="Ines Edited"),
    )
    assert saved.status_code == 302
    invitation.refresh_from_db()
    assert invitation.name == "Ines Edited"
    with django_capture_on_commit_callbacks(execute=True):
        resent = client.post(f"/admin/invitations/{invitation.pk}/resend/")
    assert resent.status_code == 302
    assert invitations.live_invitation(token) is None
    assert len(mail.outbox) == 1
    client.post(f"/admin/invitations/{invitation.pk}/revoke/")
    invitation.refresh_from_db()
    assert invitation.state == "revoked"
    again = client.post(f"/admin/invitations/{invitation.pk}/revoke/", follow=True)
    assert "accepted or revoked" in again.content.decode()


@pytest.mark.django_db
def test_accepting_sets_the_password_and_logs_the_new_user_in(world: World) -> None:
    invitation, token = invitation_with_token(world.org_a_child)
    visitor = HttpsClient()
    url = f"/invitations/accept/{token}/"
    page = visitor.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert invitation.email in text
    assert "Integra Service" in text
    assert page["Cache-Control"].startswith("max-age=0")
    weak = visitor.post(url, {"name": "Ines", "password": "weak", "confirmation": "weak"})
    assert weak.status_code == 200
    assert "at least 12" in weak.content.decode()
    done = visitor.post(
        url, {"name": "Ines Invitee", "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}
    )
    assert done.status_code == 302
    home = visitor.get("/")
    assert home.status_code == 200
    assert "Welcome, Ines Invitee" in home.content.decode()
    user = User._base_manager.get(email=invitation.email)
    assert visitor.session["_auth_user_id"] == str(user.pk)
    assert visitor.get(url).status_code == 404
    relogin = HttpsClient()
    answer = relogin.post("/login/", {"username": invitation.email, "password": NEW_PASSWORD})
    assert answer.status_code == 302


@pytest.mark.django_db
def test_dead_links_answer_in_similar_time(world: World) -> None:
    """Unknown, expired and used links take the same path: one indexed query, same page."""
    expired = [invitation_with_token(world.org_a, expired=True)[1] for _ in range(3)]
    used = []
    for _ in range(3):
        _invitation, token = invitation_with_token(world.org_a)
        invitations.accept_invitation(token=token, password=NEW_PASSWORD, confirmation=NEW_PASSWORD)
        used.append(token)
    client = HttpsClient()
    timings: dict[str, list[float]] = {"unknown": [], "expired": [], "used": []}
    for round_number in range(60):
        for kind in timings:
            token = {
                "unknown": secrets.token_urlsafe(32),
                "expired": expired[round_number % 3],
                "used": used[round_number % 3],
            }[kind]
            started = time.perf_counter()
            response = client.get(f"/invitations/accept/{token}/")
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 404
    medians = {kind: statistics.median(values) for kind, values in timings.items()}
    assert max(medians.values()) - min(medians.values()) < 0.010, medians
