"""Schemas of the audit endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema


class AuditEventOut(Schema):
    """One audit event as shown to administrators."""

    seq: int
    created_at: datetime
    action: str
    actor_label: str
    organisation_name: str
    target_type: str
    target_id: str
    target_repr: str
    data: dict[str, Any]
    ip: str | None
    channel: str
    request_id: str
