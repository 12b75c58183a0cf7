"""``/api/v1/partners``: partner links of the caller's tree (both sides see a link)."""

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
from meterkms.api.schemas.organisations import PartnerIn, PartnershipOut, PartnershipPage
from meterkms.organisations import services
from meterkms.organisations.filters import PartnershipFilter
from meterkms.organisations.models import Partnership
from meterkms.organisations.permissions import Perm
from meterkms.organisations.queries import partnerships_visible_to

router = Router(tags=["partners"])
PartnerQuery = filtering.query_schema(PartnershipFilter, "PartnerQuery")


def partnership_out(link: Partnership, actor: Any) -> dict[str, Any]:
    """A link as seen from the caller: ``organisation`` is the side in the caller's tree."""
    ours, partner = link.first, link.second
    if not ours.path.startswith(actor.organisation_path):
        ours, partner = partner, ours
    return {
        "id": link.pk,
        "organisation": {"id": ours.pk, "name": ours.name},
        "partner": {"id": partner.pk, "name": partner.name},
        "created_at": link.created_at,
    }


@router.get("", response={200: PartnershipPage, **ERRORS}, summary="List partner links")
def list_partners(request: HttpRequest, params: Query[PartnerQuery]) -> dict[str, Any]:  # type: ignore[valid-type]
    actor = request.auth
    require(actor, Perm.ORGANISATIONS_READ)
    links = filtering.apply(PartnershipFilter, params, partnerships_visible_to(actor), actor=actor)
    return page_of(links, params, lambda link: partnership_out(link, actor))


@router.post("", response={201: PartnershipOut, **ERRORS, 409: ErrorOut}, summary="Add a partner")
def add_partner(request: HttpRequest, payload: PartnerIn) -> Status:
    """Link with the organisation whose ID the partner gave you.

    An unknown ID and an organisation that may not be linked get the same 404 answer.
    """
    actor = request.auth
    require(actor, Perm.PARTNERS_MANAGE)
    organisation = (
        scoped_organisation(actor, payload.organisation_id, "organisation_id")
        if payload.organisation_id is not None
        else None
    )
    link = services.add_partner(
        actor=actor, organisation=organisation, partner_id=payload.partner_id
    )
    return Status(201, partnership_out(link, actor))


@router.delete("/{partnership_id}", response={204: None, **ERRORS}, summary="Remove a partner")
def remove_partner(request: HttpRequest, partnership_id: int) -> Status:
    """Remove a link; either side may."""
    actor = request.auth
    require(actor, Perm.PARTNERS_MANAGE)
    link = get_object_or_404(Partnership.objects.visible_to(actor), pk=partnership_id)
    services.remove_partner(actor=actor, partnership=link)
    return Status(204, None)
