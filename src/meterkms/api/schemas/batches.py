"""Schemas of ``/api/v1/batches``, ``/api/v1/claims`` and ``/api/v1/ownership``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ninja import Schema

from meterkms.api.schemas.accounts import OrganisationRef


class BatchOut(Schema):
    """A shipment batch; ``is_open`` while any of its devices is still offered."""

    id: int
    reference: str
    label: str
    creator: OrganisationRef
    recipient: OrganisationRef
    needs_confirmation: bool
    confirmation_state: str
    is_open: bool
    device_count: int
    created_at: datetime
    created_by: str | None


class BatchPage(Schema):
    """A page of batches; ``count_exact`` is false when ``count`` is a lower bound."""

    count: int
    count_exact: bool
    offset: int
    limit: int
    items: list[BatchOut]


class BatchIn(Schema):
    """A new batch: serial numbers as a list and/or as the text of a serial file.

    ``serials_text`` takes what a ``.txt``/``.csv`` file holds (commas, semicolons or line
    breaks; quotes, BOM and a header line tolerated). Problems come back as 422 with
    ``details: [{source, line, column, serial?, message}]``.
    """

    reference: str
    recipient: UUID
    serials: list[str] = []
    serials_text: str = ""
    needs_confirmation: bool = False
    label: str = ""


class ClaimRequestOut(Schema):
    """A claim waiting for (or decided by) the batch's sender."""

    id: int
    batch_id: int
    batch_reference: str
    organisation: OrganisationRef
    state: str
    device_count: int
    created_at: datetime
    decided_at: datetime | None
    note: str


class ClaimRequestPage(Schema):
    """A page of claim requests."""

    count: int
    count_exact: bool
    offset: int
    limit: int
    items: list[ClaimRequestOut]


class ClaimOut(Schema):
    """What a claim did: CLAIMED devices, PENDING devices and the requests they joined."""

    claimed: int
    pending: int
    requests: list[ClaimRequestOut]


class DeviceClaimIn(Schema):
    """Device ids from the caller's catalogue (all are claimed, or none)."""

    devices: list[int]


class DecisionIn(Schema):
    """An optional note with a confirmation or rejection."""

    note: str = ""


class TransferIn(Schema):
    """Devices to hand over, by id and/or serial number, with a reason / reference."""

    receiver: UUID
    reason: str
    devices: list[int] = []
    serials: list[str] = []


class TransferOut(Schema):
    """One hand-over."""

    id: int
    sender: OrganisationRef
    receiver: OrganisationRef
    reason: str
    device_count: int
    previous_owners: list[str]
    created_at: datetime


class TransferPage(Schema):
    """A page of hand-overs."""

    count: int
    count_exact: bool
    offset: int
    limit: int
    items: list[TransferOut]
