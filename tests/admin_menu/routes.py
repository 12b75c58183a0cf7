"""The admin menu's routes (users, invitations, organisations, partners) for the URL walk."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from meterkms.accounts.models import User
from meterkms.organisations.permissions import Perm
from tests.admin_menu.helpers import (
    NEW_PASSWORD,
    fresh_child,
    fresh_root,
    fresh_user,
    invitation_with_token,
    link_between,
    other_root,
    unique_email,
)
from tests.support.personas import World
from tests.support.urlwalk import Route, register

MISSING_INT = 987_654_321


def _org_of(persona: User) -> Any:
    return persona.organisation


def user_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    """Own: a fresh viewer of the persona's organisation; foreign: one of the other tree."""
    if kind == "own":
        return {"user_id": fresh_user(_org_of(persona)).pk}
    if kind == "foreign":
        return {"user_id": fresh_user(other_root(world, persona)).pk}
    return {"user_id": MISSING_INT}


def invitation_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    if kind == "missing":
        return {"invitation_id": MISSING_INT}
    organisation = _org_of(persona) if kind == "own" else other_root(world, persona)
    invitation, _token = invitation_with_token(organisation)
    return {"invitation_id": invitation.pk}


def accept_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    """Own: a live link; foreign: an expired one; missing: a token nobody issued.

    The invitation goes into a fresh sub-organisation: the invitee legitimately sees the
    name of the organisation they join, and the walk forbids tree names on public pages.
    """
    if kind == "missing":
        return {"token": secrets.token_urlsafe(32)}
    organisation = fresh_child(_org_of(persona), "Walk Depot")
    _invitation, token = invitation_with_token(organisation, expired=kind == "foreign")
    return {"token": token}


def organisation_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    """Own: a fresh (deletable) sub-organisation; foreign: one in the other tree."""
    if kind == "missing":
        return {"organisation_id": uuid.uuid4()}
    parent = _org_of(persona) if kind == "own" else other_root(world, persona)
    return {"organisation_id": fresh_child(parent).pk}


def partnership_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    """Own: the persona's organisation linked to a third tree; foreign: the other tree's."""
    if kind == "missing":
        return {"partnership_id": MISSING_INT}
    side = _org_of(persona) if kind == "own" else other_root(world, persona)
    return {"partnership_id": link_between(side, fresh_root()).pk}


def _persona(world: World, persona: User | None) -> User:
    return persona or world.alice


def new_user_body(world: World, persona: User | None) -> dict[str, Any]:
    return {
        "name": "Walk Person",
        "email": unique_email(),
        "organisation_id": str(_persona(world, persona).organisation_id),
        "role": "VIEWER",
        "password": NEW_PASSWORD,
    }


def new_invitation_body(world: World, persona: User | None) -> dict[str, Any]:
    return {
        "name": "Walk Invitee",
        "email": unique_email(),
        "organisation_id": str(_persona(world, persona).organisation_id),
        "role": "VIEWER",
        "language": "en",
    }


def accept_body(world: World, persona: User | None) -> dict[str, Any]:
    organisation = fresh_child(_persona(world, persona).organisation, "Walk Depot")
    _invitation, token = invitation_with_token(organisation)
    return {"token": token, "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}


def new_organisation_body(world: World, persona: User | None) -> dict[str, Any]:
    return {"name": "Walk Branch", "parent_id": str(_persona(world, persona).organisation_id)}


def new_partner_body(world: World, persona: User | None) -> dict[str, Any]:
    return {"partner_id": str(fresh_root().pk)}


PASSWORD_BODY = {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}
ACCEPT_FORM = {"name": "Walk Invitee", "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}

register(
    # Users ("Anwender")
    Route("web:users", perm=Perm.USERS_READ),
    Route("web:user_add", perm=Perm.USERS_MANAGE),
    Route("web:user_add", method="POST", perm=Perm.USERS_MANAGE, body=lambda w, u: {"name": ""}),
    Route("web:user_edit", perm=Perm.USERS_MANAGE, target=user_target),
    Route(
        "web:user_edit",
        method="POST",
        perm=Perm.USERS_MANAGE,
        target=user_target,
        ok=(200, 302),
        body=lambda w, u: {"name": "Renamed"},
    ),
    Route("web:user_password", perm=Perm.USERS_MANAGE, target=user_target),
    Route(
        "web:user_password",
        method="POST",
        perm=Perm.USERS_MANAGE,
        target=user_target,
        body=lambda w, u: {"new_password": "x", "confirmation": "y"},
    ),
    Route(
        "web:user_deactivate", method="POST", perm=Perm.USERS_MANAGE, target=user_target, ok=(302,)
    ),
    Route(
        "web:user_reactivate", method="POST", perm=Perm.USERS_MANAGE, target=user_target, ok=(302,)
    ),
    Route("web:user_delete", method="POST", perm=Perm.USERS_MANAGE, target=user_target, ok=(302,)),
    Route(
        "web:user_mfa_reset", method="POST", perm=Perm.USERS_MANAGE, target=user_target, ok=(302,)
    ),
    Route("api:list_users", perm=Perm.USERS_READ),
    Route(
        "api:create_user",
        method="POST",
        perm=Perm.USERS_MANAGE,
        ok=(201,),
        json=True,
        body=new_user_body,
    ),
    Route("api:get_user", perm=Perm.USERS_READ, target=user_target),
    Route(
        "api:update_user",
        method="PATCH",
        perm=Perm.USERS_MANAGE,
        target=user_target,
        json=True,
        body=lambda w, u: {"name": "Renamed"},
    ),
    Route(
        "api:set_password",
        method="POST",
        perm=Perm.USERS_MANAGE,
        target=user_target,
        ok=(204,),
        json=True,
        body=lambda w, u: PASSWORD_BODY,
    ),
    Route("api:deactivate_user", method="POST", perm=Perm.USERS_MANAGE, target=user_target),
    Route("api:reactivate_user", method="POST", perm=Perm.USERS_MANAGE, target=user_target),
    Route(
        "api:delete_user", method="DELETE", perm=Perm.USERS_MANAGE, target=user_target, ok=(204,)
    ),
    # Invitations ("Einladungen")
    Route("web:invitations", perm=Perm.USERS_INVITE),
    Route("web:invitation_add", perm=Perm.USERS_INVITE),
    Route(
        "web:invitation_add", method="POST", perm=Perm.USERS_INVITE, body=lambda w, u: {"name": ""}
    ),
    Route(
        "web:invitation_send", method="POST", perm=Perm.USERS_INVITE, body=lambda w, u: {"name": ""}
    ),
    Route("web:invitation_edit", perm=Perm.USERS_INVITE, target=invitation_target),
    Route(
        "web:invitation_edit",
        method="POST",
        perm=Perm.USERS_INVITE,
        target=invitation_target,
        body=lambda w, u: {"name": ""},
    ),
    Route(
        "web:invitation_resend",
        method="POST",
        perm=Perm.USERS_INVITE,
        target=invitation_target,
        ok=(302,),
    ),
    Route(
        "web:invitation_revoke",
        method="POST",
        perm=Perm.USERS_INVITE,
        target=invitation_target,
        ok=(302,),
    ),
    Route("web:invitation_accept", public=True, target=accept_target),
    Route(
        "web:invitation_accept",
        method="POST",
        public=True,
        target=accept_target,
        ok=(302,),
        body=lambda w, u: ACCEPT_FORM,
    ),
    Route("api:list_invitations", perm=Perm.USERS_INVITE),
    Route(
        "api:create_invitation",
        method="POST",
        perm=Perm.USERS_INVITE,
        ok=(201,),
        json=True,
        body=new_invitation_body,
    ),
    Route(
        "api:preview_invitation",
        method="POST",
        perm=Perm.USERS_INVITE,
        json=True,
        body=new_invitation_body,
    ),
    Route(
        "api:accept_invitation",
        method="POST",
        public=True,
        ok=(201,),
        json=True,
        body=accept_body,
    ),
    Route("api:get_invitation", perm=Perm.USERS_INVITE, target=invitation_target),
    Route(
        "api:update_invitation",
        method="PATCH",
        perm=Perm.USERS_INVITE,
        target=invitation_target,
        json=True,
        body=lambda w, u: {"name": "Renamed Invitee"},
    ),
    Route("api:resend_invitation", method="POST", perm=Perm.USERS_INVITE, target=invitation_target),
    Route("api:revoke_invitation", method="POST", perm=Perm.USERS_INVITE, target=invitation_target),
    # Organisations
    Route("web:organisations", perm=Perm.ORGANISATIONS_READ),
    Route("web:organisation_add", perm=Perm.ORGANISATIONS_CREATE),
    Route(
        "web:organisation_add",
        method="POST",
        perm=Perm.ORGANISATIONS_CREATE,
        body=lambda w, u: {"name": ""},
    ),
    Route("web:organisation_edit", perm=Perm.ORGANISATIONS_EDIT, target=organisation_target),
    Route(
        "web:organisation_edit",
        method="POST",
        perm=Perm.ORGANISATIONS_EDIT,
        target=organisation_target,
        body=lambda w, u: {"name": ""},
    ),
    Route(
        "web:organisation_delete",
        method="POST",
        perm=Perm.ORGANISATIONS_EDIT,
        target=organisation_target,
        ok=(302,),
    ),
    Route("api:list_organisations", perm=Perm.ORGANISATIONS_READ),
    Route(
        "api:create_organisation",
        method="POST",
        perm=Perm.ORGANISATIONS_CREATE,
        ok=(201,),
        json=True,
        body=new_organisation_body,
    ),
    Route("api:get_organisation", perm=Perm.ORGANISATIONS_READ, target=organisation_target),
    Route(
        "api:update_organisation",
        method="PATCH",
        perm=Perm.ORGANISATIONS_EDIT,
        target=organisation_target,
        json=True,
        body=lambda w, u: {"customer_reference": "walk-42"},
    ),
    Route(
        "api:delete_organisation",
        method="DELETE",
        perm=Perm.ORGANISATIONS_EDIT,
        target=organisation_target,
        ok=(204,),
    ),
    # Partners
    Route("web:partners", perm=Perm.ORGANISATIONS_READ),
    Route("web:partner_add", perm=Perm.PARTNERS_MANAGE),
    Route(
        "web:partner_add",
        method="POST",
        perm=Perm.PARTNERS_MANAGE,
        body=lambda w, u: {"partner_id": "not-an-id"},
    ),
    Route(
        "web:partner_remove",
        method="POST",
        perm=Perm.PARTNERS_MANAGE,
        target=partnership_target,
        ok=(302,),
    ),
    Route("api:list_partners", perm=Perm.ORGANISATIONS_READ),
    Route(
        "api:add_partner",
        method="POST",
        perm=Perm.PARTNERS_MANAGE,
        ok=(201,),
        json=True,
        body=new_partner_body,
    ),
    Route(
        "api:remove_partner",
        method="DELETE",
        perm=Perm.PARTNERS_MANAGE,
        target=partnership_target,
        ok=(204,),
    ),
)
