"""The audit log page for administrators (read-only, filterable)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from meterkms.audit.filters import AuditEventFilter
from meterkms.audit.models import AuditEvent
from meterkms.organisations.permissions import Perm
from meterkms.web.views.base import render_list, requires


@requires(Perm.AUDIT_READ)
def audit_view(request: HttpRequest) -> HttpResponse:
    """Events of the actor's organisation subtree, newest first."""
    return render_list(
        request,
        "web/audit/list.html",
        filterset_class=AuditEventFilter,
        queryset=AuditEvent.objects.visible_to(request.actor),  # type: ignore[attr-defined]
    )
