"""The sending API: ``queue_email`` resolves, renders safely, writes the outbox, sends on commit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.emails.enums import EmailKind, OutboxState
from meterkms.emails.models import EmailTemplate
from meterkms.emails.rendering import MASK
from meterkms.emails.services import queue_email
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import ROLE_LABELS, Role
from tests.emails.conftest import events, outbox
from tests.emails.smtp import SmtpServer
from tests.support.personas import World

LINK = "https://kms.example.com/invitations/accept/Zq9-secret-token-Xy/"
EXPIRES = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)


def _invite(organisation: Organisation | None, *, language: str = "en", **extra: object) -> object:
    values = {
        "link": LINK,
        "expires_at": EXPIRES,
        "inviter_name": "Alice",
        "role": ROLE_LABELS[Role.OPERATOR],
        **extra,
    }
    return queue_email(
        kind=EmailKind.INVITE_USER,
        to="New.Person@Example.com",
        recipient_name="Nina Neu",
        language=language,
        organisation=organisation,
        context=values,
    )


def _own_template(org: Organisation, *, language: str = "en", active: bool = True, **texts: str):
    return EmailTemplate._base_manager.create(
        organisation=org,
        kind=EmailKind.INVITE_USER,
        language=language,
        name=f"{org.name} invitation",
        subject=texts.get("subject", f"Join {org.name}"),
        body_text=texts.get("body_text", f"{org.name} text: {{link}}"),
        body_html=texts.get("body_html", f"<p>{org.name} html: {{link}}</p>"),
        is_active=active,
    )


@pytest.mark.django_db
def test_invitation_arrives_over_smtp_with_headers_both_bodies_and_the_link(
    world: World, smtp_server: SmtpServer, committed
) -> None:
    with committed():
        message = _invite(world.org_a)
    (received,) = smtp_server.received
    assert received.rcpt_tos == ["new.person@example.com"]
    mail = received.message
    assert mail["To"] == "Nina Neu <new.person@example.com>"
    assert mail["From"] == "meterkms <no-reply@localhost>"
    assert mail["Subject"] == "Alice invites you to meterkms"
    assert mail["Message-ID"] == message.message_id
    assert mail["Auto-Submitted"] == "auto-generated"
    text, html = received.part("text/plain"), received.part("text/html")
    assert LINK in text
    assert "Hello Nina Neu," in text
    assert "join Integra in meterkms" in text
    assert "as Key operator." in text
    assert f'href="{LINK}"' in html
    assert "Hello Nina Neu," in html
    stored = outbox()[0]
    assert stored.state == OutboxState.SENT
    assert stored.attempts == 1
    assert stored.payload == {}
    assert stored.template_name == "System Default: Invite Email (en)"
    for shown in (stored.subject, stored.body_text, stored.body_html):
        assert "Zq9-secret-token" not in shown
    assert MASK in stored.body_text
    (event,) = events("email.sent")
    assert event.organisation_name == "Integra"
    assert event.data == {
        "kind": "invite_user",
        "to": "new.person@example.com",
        "attempts": 1,
        "test": False,
    }
    assert "Zq9-secret-token" not in str(event.data)


@pytest.mark.django_db
def test_a_rolled_back_sender_sends_nothing_and_leaves_no_row(
    world: World, smtp_server: SmtpServer, committed
) -> None:
    def invite_then_fail() -> None:
        with transaction.atomic():
            _invite(world.org_a)
            raise RuntimeError("the invitation could not be saved")

    with committed(), pytest.raises(RuntimeError):
        invite_then_fail()
    assert outbox() == []
    assert smtp_server.received == []


@pytest.mark.django_db
def test_the_row_waits_queued_until_the_sender_commits(world: World, smtp_server) -> None:
    message = _invite(world.org_a)
    assert message.state == OutboxState.QUEUED
    assert message.payload["text"].count(LINK) == 1
    assert smtp_server.received == []


@pytest.mark.django_db
def test_resolution_prefers_own_then_nearest_ancestor_then_system_default(
    world: World, committed
) -> None:
    with tenancy.crossing("test"):
        child = Organisation.objects.get(pk=world.org_a_child.pk)
    with committed():
        assert _invite(child).template_name == "System Default: Invite Email (en)"
    parent_template = _own_template(world.org_a)
    with committed():
        assert _invite(child).template == parent_template
    own = _own_template(child)
    with committed():
        assert _invite(child).template == own
    EmailTemplate._base_manager.filter(pk=own.pk).update(is_active=False)
    with committed():
        assert _invite(child).template == parent_template
    # Another tree's active template is never used.
    _own_template(world.org_b, subject="Carol's")
    with committed():
        assert _invite(child).template == parent_template


@pytest.mark.django_db
def test_resolution_uses_the_recipients_language(world: World, committed) -> None:
    _own_template(world.org_a, language="en")
    with committed():
        german = _invite(world.org_a, language="de")
    assert german.template_name == "System Standard-Einladungs-E-Mail (de)"
    assert german.subject == "Alice lädt Sie zu meterkms ein"
    # The lazily translated role label is rendered in the recipient's language.
    assert "Ihre Rolle: Schlüsselbearbeiter." in german.body_text
    with committed():
        swedish = _invite(world.org_a, language="sv")
    assert swedish.template_name == "Systemstandard: Inbjudan (sv)"
    with committed():
        unknown = _invite(world.org_a, language="fr")
    assert unknown.language == "en"


@pytest.mark.django_db
def test_values_are_formatted_in_the_recipients_language(world: World) -> None:
    message = queue_email(
        kind=EmailKind.NEW_BATCH,
        to="ops@example.com",
        recipient_name="Olga",
        language="de",
        organisation=world.org_a,
        context={
            "link": "https://kms.example.com/batches/7/",
            "batch_reference": "VL-7",
            "device_count": 12500,
            "recipient_organisation": "Carol Utility",
        },
        masked=(),
    )
    assert "mit 12.500 Geräten" in message.body_text
    assert message.subject == "Neues Versandlos VL-7 für Carol Utility"
    english = queue_email(
        kind=EmailKind.PASSWORD_RESET,
        to="ops@example.com",
        recipient_name="Olga",
        language="en",
        organisation=world.org_a,
        context={"link": LINK, "expires_at": EXPIRES},
    )
    assert "valid until Dec. 3, 2026, 3:30 p.m. (CET)" in english.body_text


@pytest.mark.django_db
def test_values_are_html_escaped_in_html_and_kept_as_text_elsewhere(world: World) -> None:
    _own_template(
        world.org_a,
        subject="For {recipient_name}",
        body_text="Dear {recipient_name}: {link}",
        body_html='<p title="{recipient_name}">{recipient_name}</p><a href="{link}">go</a>',
    )
    message = queue_email(
        kind=EmailKind.INVITE_USER,
        to="x@example.com",
        recipient_name='<script>alert("x")</script> & Co\r\nBcc: evil@example.com',
        language="en",
        organisation=world.org_a,
        context={"link": LINK, "expires_at": EXPIRES, "inviter_name": "A", "role": "B"},
        masked=(),
    )
    html = message.payload["html"]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    assert '<script>alert("x")</script> & Co' in message.payload["text"]
    assert "\n" not in message.subject
    assert "\r" not in message.subject


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({"link": LINK, "expires_at": EXPIRES, "inviter_name": "A"}, "missing values ['role']"),
        (
            {"link": LINK, "expires_at": EXPIRES, "inviter_name": "A", "role": "B", "x": "y"},
            "unknown values ['x']",
        ),
    ],
)
def test_values_must_match_the_kinds_placeholders(
    world: World, context: dict, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        queue_email(
            kind=EmailKind.INVITE_USER,
            to="x@example.com",
            recipient_name="X",
            language="en",
            organisation=world.org_a,
            context=context,
        )
    assert outbox() == []


@pytest.mark.django_db
def test_only_known_values_can_be_masked(world: World) -> None:
    with pytest.raises(ValueError, match="cannot mask"):
        queue_email(
            kind=EmailKind.PASSWORD_RESET,
            to="x@example.com",
            recipient_name="X",
            language="en",
            organisation=world.org_a,
            context={"link": LINK, "expires_at": EXPIRES},
            masked=("token",),
        )


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["", "not-an-address", "a@b@c", "x@example.com\nBcc: y@z.com"])
def test_unusable_addresses_are_refused(world: World, address: str) -> None:
    with pytest.raises(DomainError) as refused:
        queue_email(
            kind=EmailKind.PASSWORD_RESET,
            to=address,
            recipient_name="X",
            language="en",
            organisation=world.org_a,
            context={"link": LINK, "expires_at": EXPIRES},
        )
    assert refused.value.code == "invalid"
    assert outbox() == []


@pytest.mark.django_db
def test_without_organisation_the_system_default_is_used(world: World) -> None:
    message = queue_email(
        kind=EmailKind.PASSWORD_RESET,
        to="x@example.com",
        recipient_name="X",
        language="sv",
        organisation=None,
        context={"link": LINK, "expires_at": EXPIRES},
    )
    assert message.template_name == "Systemstandard: Återställ lösenord (sv)"
    assert message.organisation is None
    assert "Skickat av meterkms för meterkms." in message.body_text
