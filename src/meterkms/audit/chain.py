"""The HMAC chain over audit rows: canonical encoding and MACs (no database access).

chain(n) = HMAC-SHA256(K, chain(n-1) ‖ canonical(row n)), chain(0) = 64 zeros, where K is
the audit key from settings (METERKMS_AUDIT_KEY), never stored in the database. The
canonical form is sorted-key compact JSON of every column except the chain itself and the
two foreign keys (which may legitimately become NULL when a user or organisation is
deleted; their copies ``actor_ref``/``organisation_ref`` are covered instead).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from django.conf import settings

GENESIS = "0" * 64

#: The columns the MAC covers, in a fixed order.
CHAINED_FIELDS = (
    "seq",
    "created_at",
    "action",
    "actor_ref",
    "actor_label",
    "organisation_ref",
    "organisation_name",
    "organisation_path",
    "target_type",
    "target_id",
    "target_repr",
    "data",
    "ip",
    "user_agent",
    "channel",
    "request_id",
)


def _key() -> bytes:
    return settings.AUDIT_KEY.encode("utf-8")


def _normalise(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


def canonical(values: dict[str, Any]) -> bytes:
    """The canonical bytes of a row given as a mapping of the chained fields."""
    row = {name: _normalise(values.get(name)) for name in CHAINED_FIELDS}
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(previous: str, values: dict[str, Any]) -> str:
    """The chain value of a row following ``previous``."""
    return hmac.new(
        _key(), previous.encode("ascii") + canonical(values), hashlib.sha256
    ).hexdigest()


def head_mac(seq: int, chain: str) -> str:
    """MAC of the head record, so a rewound head is noticed."""
    message = f"head|{seq}|{chain}".encode("ascii")
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two hex MACs."""
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))
