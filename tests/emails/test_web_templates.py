"""The template pages: list with filters, ⋮ actions, edit, preview, test email, permissions."""

from __future__ import annotations

import re

import pytest

from meterkms.core import tenancy
from meterkms.emails.enums import EmailKind
from meterkms.emails.models import EmailTemplate
from meterkms.emails.services import activate_template, copy_template
from tests.emails.conftest import events, outbox
from tests.support.personas import World

LIST = "/admin/emails/"


def _system(kind: str = EmailKind.INVITE_USER, language: str = "en") -> EmailTemplate:
    with tenancy.crossing("test"):
        return EmailTemplate.objects.get(organisation__isnull=True, kind=kind, language=language)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="template-(\d+)"', html)


def _carol_template(world: World) -> EmailTemplate:
    return EmailTemplate._base_manager.create(
        organisation=world.org_b,
        kind=EmailKind.INVITE_USER,
        language="en",
        name="Carol's secret invitation",
        subject="s",
        body_text="t {link}",
        body_html="h {link}",
        is_active=True,
        sort_path="invite_user/en/1/",
    )


@pytest.mark.django_db
def test_the_list_shows_system_defaults_and_the_own_tree_only(world: World, client_for) -> None:
    _carol_template(world)
    own = copy_template(template=_system(), actor=world.alice)
    page = client_for(world.alice).get(LIST)
    html = page.content.decode()
    assert page.status_code == 200
    for heading in ("Name", "Type", "Language", "Active"):
        assert f"<th>{heading}</th>" in html
    assert len(_rows(html)) == 17
    assert "Total email templates: 17" in html
    assert "System Default: Confirm Email (en)" in html
    assert "Copy of System Default: Invite Email (en)" in html
    assert "Carol" not in html
    # "in use" marks only where there is a choice: the invitation (en) with its copy.
    assert html.count(">in use</span>") == 1
    assert f'href="/admin/emails/{own.pk}/edit/"' in html
    # System defaults offer no edit, activate or delete.
    system = _system()
    assert f"/admin/emails/{system.pk}/edit/" not in html
    assert f"/admin/emails/{system.pk}/delete/" not in html
    assert f"/admin/emails/{system.pk}/copy/" in html
    assert 'data-confirm="confirm-delete"' in html
    assert '<dialog id="confirm-delete">' in html


@pytest.mark.django_db
def test_filters_narrow_the_list_and_offer_only_the_own_tree(world: World, client_for) -> None:
    _carol_template(world)
    copy = copy_template(template=_system(language="de"), actor=world.alice)
    client = client_for(world.alice)
    german = client.get(LIST, {"language": "de"}).content.decode()
    assert len(_rows(german)) == 5
    invites = client.get(LIST, {"kind": "invite_user", "language": "de"}).content.decode()
    assert _rows(invites) == [str(_system(language="de").pk), str(copy.pk)]
    inactive = client.get(LIST, {"active": "false"}).content.decode()
    assert _rows(inactive) == [str(copy.pk)]
    mine = client.get(LIST, {"organisation": str(world.org_a.pk)}).content.decode()
    assert _rows(mine) == [str(copy.pk)]
    system = client.get(LIST, {"organisation": "system"}).content.decode()
    assert len(_rows(system)) == 16
    foreign = client.get(LIST, {"organisation": str(world.org_b.pk)}).content.decode()
    assert _rows(foreign) == []
    assert "Carol Utility" not in foreign
    by_name = client.get(LIST, {"name": "copy of"}).content.decode()
    assert _rows(by_name) == [str(copy.pk)]
    assert "Integra Service" in german  # the own subtree is offered as a filter choice


@pytest.mark.django_db
def test_htmx_requests_get_only_the_results(world: World, client_for) -> None:
    partial = client_for(world.alice).get(LIST, {"kind": "new_batch"}, HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert len(_rows(html)) == 4
    assert "<html" not in html


@pytest.mark.django_db
def test_copy_activate_deactivate_and_delete_from_the_row_menu(world: World, client_for) -> None:
    client = client_for(world.alice)
    original = _system(language="sv")
    copied = client.post(f"/admin/emails/{original.pk}/copy/")
    with tenancy.crossing("test"):
        copy = EmailTemplate.objects.get(copied_from=original)
    assert copied["Location"] == f"/admin/emails/#template-{copy.pk}"
    html = client.get(LIST, {"language": "sv", "kind": "invite_user"}).content.decode()
    assert "The copy “Copy of Systemstandard: Inbjudan (sv)” has been created." in html
    assert _rows(html) == [str(original.pk), str(copy.pk)]
    assert html.count("Inactive") >= 1
    client.post(f"/admin/emails/{copy.pk}/activate/")
    html = client.get(LIST, {"language": "sv", "kind": "invite_user"}).content.decode()
    assert "“Copy of Systemstandard: Inbjudan (sv)” is now active." in html
    assert re.search(rf'id="template-{copy.pk}".*?in use.*?Active', html, re.S)
    client.post(f"/admin/emails/{copy.pk}/deactivate/")
    html = client.get(LIST).content.decode()
    assert "is inactive now" in html
    client.post(f"/admin/emails/{copy.pk}/delete/")
    html = client.get(LIST).content.decode()
    assert "has been deleted." in html
    assert str(copy.pk) not in _rows(html)
    actions = [event.action for event in events("template.copied")]
    assert actions == ["template.copied"]
    assert len(events("template.activated")) == 1
    assert len(events("template.deleted")) == 1


@pytest.mark.django_db
def test_system_defaults_refuse_changes_with_a_message(world: World, client_for) -> None:
    client = client_for(world.alice)
    system = _system()
    answer = client.get(f"/admin/emails/{system.pk}/edit/", follow=True)
    assert "System default templates cannot be changed; create a copy." in answer.content.decode()
    deleted = client.post(f"/admin/emails/{system.pk}/delete/", follow=True)
    assert "System default templates cannot be changed" in deleted.content.decode()
    assert _system().pk == system.pk


@pytest.mark.django_db
def test_editing_shows_the_placeholders_and_refuses_unknown_ones_with_positions(
    world: World, client_for
) -> None:
    client = client_for(world.alice)
    copy = copy_template(template=_system(kind=EmailKind.NEW_BATCH), actor=world.alice)
    form = client.get(f"/admin/emails/{copy.pk}/edit/").content.decode()
    for name in ("batch_reference", "device_count", "recipient_organisation", "link"):
        assert f"&#123;{name}&#125;" in form
    assert "invite" not in re.sub(r"<[^>]+>", "", form).lower().split("placeholders")[-1]
    refused = client.post(
        f"/admin/emails/{copy.pk}/edit/",
        {
            "name": "Batch mail",
            "subject": "New {batch_reference}",
            "body_text": "Line one\n  {password}",
            "body_html": "<p>{link.__init__}</p>",
        },
    )
    html = refused.content.decode()
    assert refused.status_code == 200
    assert "line 2, column 3: unknown placeholder {password}" in html
    assert "line 1, column 4: attribute access is not allowed in {link.__init__}" in html
    saved = client.post(
        f"/admin/emails/{copy.pk}/edit/",
        {
            "name": "Batch mail",
            "subject": "New {batch_reference}",
            "body_text": "{device_count} devices: {link}",
            "body_html": '<p>{device_count} devices: <a href="{link}">open</a></p>',
        },
    )
    assert saved["Location"] == f"/admin/emails/#template-{copy.pk}"
    assert "The template “Batch mail” has been saved." in client.get(LIST).content.decode()
    assert events("template.edited")[0].data["fields"] == [
        "body_html",
        "body_text",
        "name",
        "subject",
    ]


@pytest.mark.django_db
def test_the_preview_renders_sample_values_and_frames_the_html_safely(
    world: World, client_for
) -> None:
    client = client_for(world.alice)
    copy = copy_template(template=_system(language="de"), actor=world.alice)
    EmailTemplate._base_manager.filter(pk=copy.pk).update(
        body_html='<p>{recipient_name}</p><script>alert(1)</script><img src="https://t.example/p.gif">'
    )
    page = client.get(f"/admin/emails/{copy.pk}/preview/").content.decode()
    assert "Sam Sender lädt Sie zu meterkms ein" in page
    assert "Guten Tag Alex Example," in page
    assert f'src="/admin/emails/{copy.pk}/preview.html"' in page
    assert 'sandbox=""' in page
    framed = client.get(f"/admin/emails/{copy.pk}/preview.html")
    assert framed.status_code == 200
    policy = framed["Content-Security-Policy"]
    assert "sandbox" in policy
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'self'" in policy
    assert "img-src data:" in policy
    assert framed["X-Frame-Options"] == "SAMEORIGIN"
    assert b"<p>Alex Example</p>" in framed.content
    # The ordinary pages still refuse to be framed.
    assert client.get(LIST)["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_a_test_email_is_queued_from_its_page(world: World, client_for) -> None:
    client = client_for(world.alice)
    system = _system(kind=EmailKind.PASSWORD_RESET)
    form = client.get(f"/admin/emails/{system.pk}/test/").content.decode()
    assert 'value="alice@example.com"' in form
    assert ">Confirm</button>" in form
    refused = client.post(f"/admin/emails/{system.pk}/test/", {"to": "nonsense"})
    assert "Enter a valid email address." in refused.content.decode()
    sent = client.post(f"/admin/emails/{system.pk}/test/", {"to": "qa@example.com"}, follow=True)
    assert "The test email to qa@example.com is on its way" in sent.content.decode()
    (message,) = outbox()
    assert message.is_test
    assert message.subject == "[Test] Reset your meterkms password"
    assert message.organisation == world.org_a


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "templates", "outbox_page"),
    [
        ("alice", 200, 200),
        ("adam", 403, 200),
        ("olga", 403, 403),
        ("bob", 403, 403),
        ("carol", 403, 200),
    ],
)
def test_each_role_gets_what_its_permissions_allow(
    world: World, client_for, persona: str, templates: int, outbox_page: int
) -> None:
    client = client_for(world.people[persona])
    assert client.get(LIST).status_code == templates
    assert client.get("/admin/emails/outbox/").status_code == outbox_page
    menu = client.get("/menu/admin/").content.decode()
    assert ('href="/admin/emails/"' in menu) is (templates == 200)
    assert ('href="/admin/emails/outbox/"' in menu) is (outbox_page == 200)


@pytest.mark.django_db
def test_activation_in_the_list_is_per_organisation(world: World, client_for) -> None:
    copy = copy_template(template=_system(), actor=world.alice)
    activate_template(template=copy, actor=world.alice)
    html = client_for(world.alice).get(LIST, {"kind": "invite_user", "language": "en"}).content
    text = html.decode()
    # Both are active in their own scope; only the organisation's own is in use.
    assert text.count('<span class="badge ok">Active</span>') == 2
    assert text.count(">in use</span>") == 1
    assert re.search(rf'id="template-{copy.pk}".*?in use', text, re.S)
