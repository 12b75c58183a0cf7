"""``/api/v1/organisations``: the caller's organisation and the ones below it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from meterkms.api import filtering
from meterkms.api.errors import ERRORS, ErrorOut
from meterkms.api.paging import page_of
from meterkms.api.permissions import require
from meterkms.api.routers.users import scoped_organisation
from meterkms.api.schemas.organisations import (
    OrganisationIn,
    OrganisationOut,
    OrganisationPage,
    OrganisationPatch,
)
from meterkms.organisations import services
from meterkms.organisations.filters import OrganisationFilter
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Perm
from meterkms.organisations.queries import organisations_visible_to

router = Router(tags=["organisations"])
OrganisationQuery = filtering.query_schema(OrganisationFilter, "OrganisationQuery")
CHANGE_ERRORS = {**ERRORS, 409: ErrorOut}


def organisation_out(organisation: Organisation, actor: Any) -> dict[str, Any]:
    """The API view of an organisation; the parent of the caller's own one stays hidden."""
    parent = organisation.parent if organisation.pk != actor.organisation_id else None
    return {
        "id": organisation.pk,
        "name": organisation.name,
        "customer_reference": organisation.customer_reference,
        "may_create_organisations": organisation.may_create_organisations,
        "parent": {"id": parent.pk, "name": parent.name} if parent else None,
        "created_at": organisation.created_at,
    }


def _organisation(actor: Any, organisation_id: UUID) -> Organisation:
    return get_object_or_404(organisations_visible_to(actor), pk=organisation_id)


@router.get("", response={200: OrganisationPage, **ERRORS}, summary="List organisations")
def list_organisations(request: HttpRequest, params: Query[OrganisationQuery]) -> dict[str, Any]:  # type: ignore[valid-type]
    """The caller's subtree; the filters are those of the web list."""
    actor = request.auth
    require(actor, Perm.ORGANISATIONS_READ)
    rows = filtering.apply(OrganisationFilter, params, organisations_visible_to(actor), actor=actor)
    return page_of(rows, params, lambda row: organisation_out(row, actor))


@router.post("", response={201: OrganisationOut, **CHANGE_ERRORS}, summary="Add an organisation")
def create_organisation(request: HttpRequest, payload: OrganisationIn) -> Status:
    """Create an organisation below one of the caller's subtree (needs the may-create right)."""
    actor = request.auth
    require(actor, Perm.ORGANISATIONS_CREATE)
    organisation = services.create_organisation(
        name=payload.name,
        parent=scoped_organisation(actor, payload.parent_id, "parent_id"),
        customer_reference=payload.customer_reference,
        may_create_organisations=payload.may_create_organisations,
        actor=actor,
    )
    return Status(201, organisation_out(organisation, actor))


@router.get(
    "/{organisation_id}", response={200: OrganisationOut, **ERRORS}, summary="One organisation"
)
def get_organisation(request: HttpRequest, organisation_id: UUID) -> dict[str, Any]:
    actor = request.auth
    require(actor, Perm.ORGANISATIONS_READ)
    return organisation_out(_organisation(actor, organisation_id), actor)


@router.patch(
    "/{organisation_id}",
    response={200: OrganisationOut, **CHANGE_ERRORS},
    summary="Edit or move an organisation",
)
def update_organisation(
    request: HttpRequest, organisation_id: UUID, payload: OrganisationPatch
) -> dict[str, Any]:
    """Change name, reference or may-create flag; a new ``parent_id`` moves it (no cycles)."""
    actor = request.auth
    require(actor, Perm.ORGANISATIONS_EDIT)
    organisation = _organisation(actor, organisation_id)
    extra: dict[str, Any] = {}
    if payload.parent_id is not None:
        extra["parent"] = scoped_organisation(actor, payload.parent_id, "parent_id")
    updated = services.update_organisation(
        actor=actor,
        organisation=organisation,
        name=payload.name,
        customer_reference=payload.customer_reference,
        may_create_organisations=payload.may_create_organisations,
        **extra,
    )
    return organisation_out(updated, actor)


@router.delete(
    "/{organisation_id}", response={204: None, **CHANGE_ERRORS}, summary="Delete an organisation"
)
def delete_organisation(request: HttpRequest, organisation_id: UUID) -> Status:
    """Refused (409) while the organisation owns users, sub-organisations or devices."""
    actor = request.auth
    require(actor, Perm.ORGANISATIONS_EDIT)
    services.delete_organisation(actor=actor, organisation=_organisation(actor, organisation_id))
    return Status(204, None)
