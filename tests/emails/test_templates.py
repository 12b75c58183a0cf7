"""Template services: edit, copy, activate, deactivate, delete, test email; system defaults."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.emails import formatting
from meterkms.emails.defaults import SYSTEM_DEFAULTS
from meterkms.emails.enums import EmailKind, OutboxState, placeholder_names
from meterkms.emails.models import EmailTemplate
from meterkms.emails.services import (
    activate_template,
    copy_template,
    deactivate_template,
    delete_template,
    send_test_email,
    update_template,
)
from meterkms.emails.system import sync_system_templates
from tests.emails.conftest import events, outbox
from tests.emails.smtp import SmtpServer
from tests.support.personas import World


def _system(kind: str = EmailKind.INVITE_USER, language: str = "en") -> EmailTemplate:
    with tenancy.crossing("test"):
        return EmailTemplate.objects.get(organisation__isnull=True, kind=kind, language=language)


def _fresh(template: EmailTemplate) -> EmailTemplate:
    with tenancy.crossing("test"):
        return EmailTemplate.objects.get(pk=template.pk)


def _edit(template: EmailTemplate, actor, **changes: str) -> EmailTemplate:
    parts = {
        "name": template.name,
        "subject": template.subject,
        "body_text": template.body_text,
        "body_html": template.body_html,
        **changes,
    }
    return update_template(template=template, actor=actor, **parts)


@pytest.mark.django_db
def test_every_kind_has_a_valid_system_default_in_every_language() -> None:
    with tenancy.crossing("test"):
        stored = EmailTemplate.objects.filter(organisation__isnull=True)
        assert stored.count() == 16
        assert all(template.is_active for template in stored)
    for (kind, language), content in SYSTEM_DEFAULTS.items():
        allowed = placeholder_names(kind)
        for text in (content.subject, content.body_text, content.body_html):
            assert formatting.check(text, allowed) == [], (kind, language)
        assert "{link}" in content.body_text
        assert 'href="{link}"' in content.body_html
        assert f'<html lang="{language}">' in content.body_html
        assert f"({language})" in content.name


@pytest.mark.django_db
def test_syncing_is_idempotent_and_restores_edited_defaults() -> None:
    assert sync_system_templates() == 0
    EmailTemplate._base_manager.filter(pk=_system().pk).update(subject="tampered")
    assert sync_system_templates() == 1
    assert _system().subject == "{inviter_name} invites you to meterkms"


@pytest.mark.django_db
def test_copy_appears_inactive_right_below_its_original(world: World) -> None:
    original = _system(language="de")
    first = copy_template(template=original, actor=world.alice)
    second = copy_template(template=original, actor=world.alice)
    assert second.organisation == world.org_a
    assert not second.is_active
    assert second.name == "Copy of System Standard-Einladungs-E-Mail (de)"
    assert (second.subject, second.body_text) == (original.subject, original.body_text)
    with tenancy.acting_as(world.alice):
        listed = list(EmailTemplate.objects.filter(kind=EmailKind.INVITE_USER, language="de"))
    assert listed == [original, second, first]
    of_copy = copy_template(template=first, actor=world.alice)
    with tenancy.acting_as(world.alice):
        listed = list(EmailTemplate.objects.filter(kind=EmailKind.INVITE_USER, language="de"))
    assert listed == [original, second, first, of_copy]
    (event, *_rest) = events("template.copied")
    assert event.data["original"] == original.pk
    assert event.actor_id == world.alice.pk


@pytest.mark.django_db
def test_activating_deactivates_the_other_template_of_that_kind_and_language(
    world: World,
) -> None:
    first = copy_template(template=_system(), actor=world.alice)
    second = copy_template(template=_system(), actor=world.alice)
    other_language = copy_template(template=_system(language="de"), actor=world.alice)
    activate_template(template=other_language, actor=world.alice)
    activate_template(template=first, actor=world.alice)
    activate_template(template=second, actor=world.alice)
    assert [_fresh(t).is_active for t in (first, second, other_language)] == [False, True, True]
    activated = events("template.activated")
    assert activated[-1].data["deactivated"] == [first.pk]
    # Activating the active one again changes nothing and records nothing.
    activate_template(template=second, actor=world.alice)
    assert len(events("template.activated")) == 3


@pytest.mark.django_db
def test_the_database_refuses_two_active_templates_per_organisation_kind_language(
    world: World,
) -> None:
    first = copy_template(template=_system(), actor=world.alice)
    second = copy_template(template=_system(), actor=world.alice)
    activate_template(template=first, actor=world.alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailTemplate._base_manager.filter(pk=second.pk).update(is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailTemplate._base_manager.filter(pk=_system().pk).update(is_active=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailTemplate._base_manager.create(
            kind=EmailKind.INVITE_USER,
            language="en",
            name="x",
            subject="x",
            body_text="x",
            body_html="x",
            is_active=True,
        )


@pytest.mark.django_db
def test_deactivating_falls_back_and_is_audited(world: World) -> None:
    copy = copy_template(template=_system(), actor=world.alice)
    activate_template(template=copy, actor=world.alice)
    deactivate_template(template=copy, actor=world.alice)
    assert not _fresh(copy).is_active
    assert len(events("template.deactivated")) == 1
    deactivate_template(template=copy, actor=world.alice)
    assert len(events("template.deactivated")) == 1


@pytest.mark.django_db
def test_editing_saves_the_texts_and_records_the_changed_fields(world: World) -> None:
    copy = copy_template(template=_system(), actor=world.alice)
    _edit(
        copy,
        world.alice,
        name="Integra invitation",
        subject="Welcome to {organisation}, {recipient_name}",
        body_text="Join us: {link}\r\nUntil {expires_at}.",
    )
    stored = _fresh(copy)
    assert stored.name == "Integra invitation"
    assert stored.body_text == "Join us: {link}\nUntil {expires_at}."
    (event,) = events("template.edited")
    assert event.data == {"fields": ["body_text", "name", "subject"]}
    _edit(stored, world.alice)
    assert len(events("template.edited")) == 1


@pytest.mark.django_db
def test_unknown_placeholders_and_broken_syntax_are_refused_with_positions(world: World) -> None:
    copy = copy_template(template=_system(kind=EmailKind.PASSWORD_RESET), actor=world.alice)
    with pytest.raises(DomainError) as refused:
        _edit(
            copy,
            world.alice,
            subject="Reset for {batch_reference}",
            body_text="Hello\n  {recipient_name.__class__}",
            body_html="<p>{link</p>",
        )
    details = refused.value.details
    assert refused.value.code == "invalid"
    assert [(d["field"], d["line"], d["column"]) for d in details] == [
        ("subject", 1, 11),
        ("body_text", 2, 3),
        ("body_html", 1, 4),
    ]
    assert "unknown placeholder {batch_reference}" in details[0]["message"]
    assert "attribute access" in details[1]["message"]
    assert "never closed" in details[2]["message"]
    assert _fresh(copy).subject == copy.subject
    assert events("template.edited") == []


@pytest.mark.django_db
def test_empty_parts_are_refused(world: World) -> None:
    copy = copy_template(template=_system(), actor=world.alice)
    with pytest.raises(DomainError) as refused:
        _edit(copy, world.alice, name="  ", body_html="")
    assert {d["field"] for d in refused.value.details} == {"name", "body_html"}


@pytest.mark.django_db
@pytest.mark.parametrize("change", [activate_template, deactivate_template, delete_template])
def test_system_defaults_are_read_only(world: World, change) -> None:
    with pytest.raises(DomainError) as refused:
        change(template=_system(), actor=world.alice)
    assert refused.value.code == "conflict"
    with pytest.raises(DomainError):
        _edit(_system(), world.alice, subject="mine now")
    assert _system().subject == "{inviter_name} invites you to meterkms"


@pytest.mark.django_db
def test_deleting_removes_the_template_and_keeps_the_audit_trail(world: World) -> None:
    copy = copy_template(template=_system(), actor=world.alice)
    activate_template(template=copy, actor=world.alice)
    delete_template(template=copy, actor=world.alice)
    with tenancy.crossing("test"):
        assert not EmailTemplate.objects.filter(pk=copy.pk).exists()
    (event,) = events("template.deleted")
    assert event.target_id == str(copy.pk)
    assert event.data["was_active"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["adam", "olga", "bob", "carol"])
def test_only_roles_with_emails_edit_may_change_templates(world: World, persona: str) -> None:
    actor = world.people[persona]
    with pytest.raises(DomainError) as refused:
        copy_template(template=_system(), actor=actor)
    assert refused.value.code == "forbidden"


@pytest.mark.django_db
def test_another_trees_template_cannot_be_changed_even_around_the_lookup(world: World) -> None:
    foreign = copy_template(template=_system(), actor=world.alice)
    carol_admin = world.carol
    carol_admin.role = "OTC_ADMIN"  # in memory only: may edit templates, but not A's
    with pytest.raises(DomainError) as refused:
        activate_template(template=foreign, actor=carol_admin)
    assert refused.value.code == "not_found"


@pytest.mark.django_db
def test_a_test_email_uses_sample_values_and_arrives_marked(
    world: World, smtp_server: SmtpServer, committed
) -> None:
    template = copy_template(template=_system(language="de"), actor=world.alice)
    with committed():
        send_test_email(template=template, to="Alice@Example.com", actor=world.alice)
    (received,) = smtp_server.received
    assert received.message["Subject"] == "[Test] Sam Sender lädt Sie zu meterkms ein"
    assert received.rcpt_tos == ["alice@example.com"]
    text = received.part("text/plain")
    assert "Guten Tag Alex Example," in text
    assert "Organisation Integra in meterkms" in text
    (message,) = outbox()
    assert message.is_test
    assert message.state == OutboxState.SENT
    assert events("email.sent")[0].data["test"] is True
