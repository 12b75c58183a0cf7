"""``/api/v1/audit``: the audit log of the caller's organisation subtree."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema

from meterkms.api import filtering
from meterkms.api.errors import ERRORS
from meterkms.api.paging import page_of
from meterkms.api.permissions import require
from meterkms.api.schemas.audit import AuditEventOut
from meterkms.audit.filters import AuditEventFilter
from meterkms.audit.models import AuditEvent
from meterkms.organisations.permissions import Perm

router = Router(tags=["audit"])

AuditQuery = filtering.query_schema(AuditEventFilter, "AuditQuery")


class AuditPage(Schema):
    """A page of audit events; ``count_exact`` is false when ``count`` is a lower bound."""

    count: int
    count_exact: bool
    offset: int
    limit: int
    items: list[AuditEventOut]


@router.get("", response={200: AuditPage, **ERRORS}, summary="List audit events")
def list_events(request: HttpRequest, params: Query[AuditQuery]) -> dict[str, object]:  # type: ignore[valid-type]
    require(request.auth, Perm.AUDIT_READ)
    queryset = filtering.apply(
        AuditEventFilter, params, AuditEvent.objects.visible_to(request.auth)
    )
    return page_of(queryset, params)
