"""The routes of the emails feature, registered for the URL walk."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from meterkms.accounts.models import User
from meterkms.emails.enums import EmailKind, OutboxState
from meterkms.emails.models import EmailTemplate, OutboxMessage
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Perm
from tests.support.personas import World
from tests.support.urlwalk import Route, register

MISSING_INT = 987_654_321


def _other_org(world: World, persona: User) -> Organisation:
    return world.org_a if persona.organisation_id == world.org_b.pk else world.org_b


def _template_in(organisation: Organisation) -> EmailTemplate:
    return EmailTemplate._base_manager.create(
        organisation=organisation,
        kind=EmailKind.INVITE_USER,
        language="en",
        name=f"Walk template of {organisation.name}",
        subject="Join {organisation}",
        body_text="Hello {recipient_name}: {link}",
        body_html="<p>Hello {recipient_name}: <a href='{link}'>join</a></p>",
        sort_path="invite_user/en/0/",
    )


def _message_in(organisation: Organisation) -> OutboxMessage:
    return OutboxMessage._base_manager.create(
        organisation=organisation,
        kind=EmailKind.INVITE_USER,
        language="en",
        template_name="walk",
        to_email="walk@example.com",
        recipient_name="Walker",
        from_email="meterkms <no-reply@localhost>",
        subject=f"Join {organisation.name}",
        body_text="Hello Walker: ••••••",
        body_html="<p>Hello Walker: ••••••</p>",
        payload={"subject": "Join", "text": "Hello", "html": "<p>Hello</p>"},
        state=OutboxState.FAILED,
        attempts=1,
        failed_at=timezone.now(),
        last_error="550 5.1.1 No such user",
    )


def template_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    """Own: a template of the persona's organisation; foreign: one of the other tree."""
    if kind == "own":
        return {"template_id": _template_in(persona.organisation).pk}
    if kind == "foreign":
        return {"template_id": _template_in(_other_org(world, persona)).pk}
    return {"template_id": MISSING_INT}


def message_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    """Own: a failed message of the persona's organisation; foreign: one of the other tree."""
    if kind == "own":
        return {"message_id": _message_in(persona.organisation).pk}
    if kind == "foreign":
        return {"message_id": _message_in(_other_org(world, persona)).pk}
    return {"message_id": MISSING_INT}


def token_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    """A token that opens nothing (public pages answer the same for every token)."""
    return {"token": "no-such-token-" + kind}


_EDIT = Perm.EMAILS_EDIT
_TEMPLATE_PARTS = {
    "name": "Walked",
    "subject": "Hi {recipient_name}",
    "body_text": "Text {link}",
    "body_html": "<p>{link}</p>",
}

register(
    Route("web:email_templates", perm=_EDIT),
    Route("web:email_template_edit", perm=_EDIT, target=template_target),
    Route(
        "web:email_template_edit",
        method="POST",
        perm=_EDIT,
        target=template_target,
        ok=(302,),
        body=lambda w, u: _TEMPLATE_PARTS,
    ),
    Route("web:email_template_preview", perm=_EDIT, target=template_target),
    Route("web:email_template_preview_html", perm=_EDIT, target=template_target),
    Route("web:email_template_test", perm=_EDIT, target=template_target),
    Route(
        "web:email_template_test",
        method="POST",
        perm=_EDIT,
        target=template_target,
        ok=(302,),
        body=lambda w, u: {"to": "walk@example.com"},
    ),
    Route("web:email_template_copy", method="POST", perm=_EDIT, target=template_target, ok=(302,)),
    Route(
        "web:email_template_activate",
        method="POST",
        perm=_EDIT,
        target=template_target,
        ok=(302,),
    ),
    Route(
        "web:email_template_deactivate",
        method="POST",
        perm=_EDIT,
        target=template_target,
        ok=(302,),
    ),
    Route(
        "web:email_template_delete", method="POST", perm=_EDIT, target=template_target, ok=(302,)
    ),
    Route("web:email_outbox", perm=Perm.EMAILS_READ),
    Route("web:email_outbox_detail", perm=Perm.EMAILS_READ, target=message_target),
    Route("web:email_outbox_html", perm=Perm.EMAILS_READ, target=message_target),
    Route("web:email_outbox_retry", method="POST", perm=_EDIT, target=message_target, ok=(302,)),
    Route("web:password_forgot", public=True),
    Route(
        "web:password_forgot",
        method="POST",
        public=True,
        body=lambda w, u: {"email": "nobody@example.com"},
    ),
    Route("web:password_reset_link", public=True, target=token_target),
    Route("web:password_reset", public=True),
    Route(
        "web:password_reset",
        method="POST",
        public=True,
        body=lambda w, u: {"new_password": "x", "confirmation": "x"},
    ),
    Route("web:email_change"),
    Route(
        "web:email_change",
        method="POST",
        body=lambda w, u: {"new_email": "new@example.com", "current_password": "wrong"},
    ),
    Route("web:email_change_cancel", method="POST", ok=(302,)),
    Route("web:email_confirm_link", public=True, target=token_target),
    Route("web:email_confirm", public=True),
    Route("web:email_confirm", method="POST", public=True),
)

_API_TEMPLATE = {"name": "Walked by the API"}

register(
    Route("api:list_templates", perm=_EDIT),
    Route("api:get_template", perm=_EDIT, target=template_target),
    Route(
        "api:update_template",
        method="PATCH",
        perm=_EDIT,
        target=template_target,
        json=True,
        body=lambda w, u: _API_TEMPLATE,
    ),
    Route("api:copy_template", method="POST", perm=_EDIT, target=template_target, ok=(201,)),
    Route("api:activate_template", method="POST", perm=_EDIT, target=template_target),
    Route("api:deactivate_template", method="POST", perm=_EDIT, target=template_target),
    Route("api:delete_template", method="DELETE", perm=_EDIT, target=template_target, ok=(204,)),
    Route("api:preview_template", perm=_EDIT, target=template_target),
    Route(
        "api:send_test_email",
        method="POST",
        perm=_EDIT,
        target=template_target,
        ok=(202,),
        json=True,
        body=lambda w, u: {"to": "walk@example.com"},
    ),
    Route("api:list_placeholders", perm=_EDIT),
    Route("api:list_outbox", perm=Perm.EMAILS_READ),
    Route("api:get_outbox_message", perm=Perm.EMAILS_READ, target=message_target),
    Route("api:retry_outbox_message", method="POST", perm=_EDIT, target=message_target),
)
