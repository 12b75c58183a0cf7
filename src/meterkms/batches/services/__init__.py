"""The write path of batches: creation, claims and their decisions, hand-overs.

Every function is keyword-only, runs in one transaction, writes its audit event there and
raises ``DomainError`` (``Conflict`` when a race was lost). See docs/batches.md.
"""

from meterkms.batches.services.claiming import (
    ClaimOutcome,
    claim_batch,
    claim_devices,
    confirm_request,
    reject_request,
)
from meterkms.batches.services.creation import create_batch
from meterkms.batches.services.ownership import transfer_ownership

__all__ = [
    "ClaimOutcome",
    "claim_batch",
    "claim_devices",
    "confirm_request",
    "create_batch",
    "reject_request",
    "transfer_ownership",
]
