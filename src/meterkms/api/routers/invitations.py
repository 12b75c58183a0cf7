"""``/api/v1/invitations``: invite people into the caller's subtree; accept a link."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from meterkms.api import filtering
from meterkms.api.errors import ERRORS, ErrorOut
from meterkms.api.paging import page_of
from meterkms.api.permissions import require
from meterkms.api.routers.users import scoped_organisation
from meterkms.api.schemas.organisations import (
    AcceptedOut,
    AcceptIn,
    EmailPreviewOut,
    InvitationIn,
    InvitationOut,
    InvitationPage,
    InvitationPatch,
)
from meterkms.organisations import invitations, mail
from meterkms.organisations.filters import InvitationFilter
from meterkms.organisations.models import Invitation
from meterkms.organisations.permissions import Perm
from meterkms.organisations.queries import invitations_visible_to

router = Router(tags=["invitations"])
InvitationQuery = filtering.query_schema(InvitationFilter, "InvitationQuery")
CHANGE_ERRORS = {**ERRORS, 409: ErrorOut}


def _invitation(actor: Any, invitation_id: int) -> Invitation:
    return get_object_or_404(invitations_visible_to(actor), pk=invitation_id)


def _values(actor: Any, payload: InvitationIn) -> dict[str, Any]:
    return {
        "name": payload.name,
        "email": payload.email,
        "organisation": scoped_organisation(actor, payload.organisation_id, "organisation_id"),
        "role": payload.role,
        "language": payload.language,
    }


@router.get("", response={200: InvitationPage, **ERRORS}, summary="List invitations")
def list_invitations(request: HttpRequest, params: Query[InvitationQuery]) -> dict[str, Any]:  # type: ignore[valid-type]
    """Invitations into the caller's subtree with their state; the web list's filters."""
    actor = request.auth
    require(actor, Perm.USERS_INVITE)
    rows = filtering.apply(InvitationFilter, params, invitations_visible_to(actor), actor=actor)
    return page_of(rows, params)


@router.post("", response={201: InvitationOut, **CHANGE_ERRORS}, summary="Send an invitation")
def create_invitation(request: HttpRequest, payload: InvitationIn) -> Status:
    """Create the invitation; its email leaves once the request's transaction commits."""
    actor = request.auth
    require(actor, Perm.USERS_INVITE)
    invitation = invitations.invite_user(actor=actor, **_values(actor, payload))
    return Status(201, invitation)


@router.post(
    "/preview", response={200: EmailPreviewOut, **CHANGE_ERRORS}, summary="Preview the email"
)
def preview_invitation(request: HttpRequest, payload: InvitationIn) -> dict[str, str]:
    """Check an invitation without sending it and show its email (link as a placeholder)."""
    actor = request.auth
    require(actor, Perm.USERS_INVITE)
    values = _values(actor, payload)
    invitations.check_invitation(actor=actor, **values)
    message = mail.preview(
        recipient_name=values["name"],
        email=values["email"],
        organisation=values["organisation"],
        role=values["role"],
        language=values["language"],
        inviter_name=actor.user.name,
    )
    return {"subject": message.subject, "body": message.text}


@router.post(
    "/accept",
    auth=None,
    response={201: AcceptedOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Accept an invitation",
)
def accept_invitation(request: HttpRequest, payload: AcceptIn) -> Status:
    """Create the invitee's account with the chosen password (no login session).

    Every token that does not work — unknown, expired, used, revoked, superseded — gets the
    same 404 answer.
    """
    user = invitations.accept_invitation(
        token=payload.token,
        password=payload.password,
        confirmation=payload.confirmation,
        name=payload.name,
    )
    return Status(201, user)


@router.get("/{invitation_id}", response={200: InvitationOut, **ERRORS}, summary="One invitation")
def get_invitation(request: HttpRequest, invitation_id: int) -> Invitation:
    require(request.auth, Perm.USERS_INVITE)
    return _invitation(request.auth, invitation_id)


@router.patch(
    "/{invitation_id}", response={200: InvitationOut, **CHANGE_ERRORS}, summary="Edit an invitation"
)
def update_invitation(
    request: HttpRequest, invitation_id: int, payload: InvitationPatch
) -> Invitation:
    """Change an open invitation; a new email address gets a new link."""
    actor = request.auth
    require(actor, Perm.USERS_INVITE)
    invitation = _invitation(actor, invitation_id)
    merged = InvitationIn(
        name=payload.name if payload.name is not None else invitation.name,
        email=payload.email if payload.email is not None else invitation.email,
        organisation_id=payload.organisation_id or invitation.organisation_id,
        role=payload.role or invitation.role,
        language=payload.language or invitation.language,
    )
    return invitations.update_invitation(
        actor=actor, invitation=invitation, **_values(actor, merged)
    )


@router.post(
    "/{invitation_id}/resend",
    response={200: InvitationOut, **CHANGE_ERRORS},
    summary="Resend an invitation",
)
def resend_invitation(request: HttpRequest, invitation_id: int) -> Invitation:
    """Send a new link with a new expiry; the previous link stops working."""
    actor = request.auth
    require(actor, Perm.USERS_INVITE)
    return invitations.resend_invitation(actor=actor, invitation=_invitation(actor, invitation_id))


@router.post(
    "/{invitation_id}/revoke",
    response={200: InvitationOut, **CHANGE_ERRORS},
    summary="Revoke an invitation",
)
def revoke_invitation(request: HttpRequest, invitation_id: int) -> Invitation:
    actor = request.auth
    require(actor, Perm.USERS_INVITE)
    return invitations.revoke_invitation(actor=actor, invitation=_invitation(actor, invitation_id))
