"""Writing and verifying the audit log.

:func:`record` is called by every service inside its own transaction, so the event commits
or rolls back together with the change it describes. It takes the audit head's row lock:
call it after the service's other row locks to keep one lock order.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from meterkms.audit import chain
from meterkms.audit.actions import Action
from meterkms.audit.models import AuditEvent, AuditHead
from meterkms.core import context

if TYPE_CHECKING:
    from meterkms.organisations.models import Organisation

_SECRET_NAME = re.compile(r"pass|secret|token|key|pin|otp|code", re.IGNORECASE)
#: Names that contain a secret-looking word but hold none (counts, fingerprints, ids).
_SAFE_NAMES = {
    "key_count",
    "key_slots",
    "key_fingerprints",
    "key_check_values",
    "token_prefix",
    "recovery_codes_left",
}
MASK = "***"


def mask(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every value under a secret-sounding name replaced by ``***``."""
    masked: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _SAFE_NAMES and _SECRET_NAME.search(name):
            masked[name] = MASK
        elif isinstance(value, dict):
            masked[name] = mask(value)
        else:
            masked[name] = value
    return masked


def _clean_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def record(
    action: str,
    *,
    actor: Any | None = None,
    organisation: Organisation | None = None,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
    channel: str | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction.

    ``organisation`` defaults to the actor's organisation. ``data`` is masked (secret-sounding
    names become ``***``) — callers still must not pass key material or passwords.
    """
    action = Action(action).value
    info = context.current()
    user = getattr(actor, "user", actor)  # API token actors carry their user
    if organisation is None and user is not None:
        organisation = getattr(user, "organisation", None)
    with transaction.atomic():
        head, _created = AuditHead.objects.select_for_update().get_or_create(pk=1)
        values: dict[str, Any] = {
            "seq": head.seq + 1,
            "created_at": timezone.now(),
            "action": action,
            "actor_ref": str(user.pk) if user is not None else "",
            "actor_label": _label(user),
            "organisation_ref": str(organisation.pk) if organisation else "",
            "organisation_name": organisation.name if organisation else "",
            "organisation_path": organisation.path if organisation else "",
            "target_type": target._meta.label_lower if target is not None else "",
            "target_id": str(target.pk) if target is not None else "",
            "target_repr": str(target)[:300] if target is not None else "",
            "data": mask(data or {}),
            "ip": _clean_ip(info.ip),
            "user_agent": info.user_agent[:300],
            "channel": channel or info.channel,
            "request_id": info.request_id,
        }
        # JSON round trip so the MAC covers exactly what the database will return.
        values["data"] = _json_roundtrip(values["data"])
        values["chain"] = chain.link(head.chain or chain.GENESIS, values)
        event = AuditEvent(
            actor=user if user is not None and user.pk else None,
            organisation=organisation,
            **values,
        )
        event.save(force_insert=True)
        head.seq = values["seq"]
        head.chain = values["chain"]
        head.mac = chain.head_mac(head.seq, head.chain)
        head.save(update_fields=["seq", "chain", "mac"])
    return event


def _label(user: Any | None) -> str:
    if user is None:
        return ""
    name = getattr(user, "name", "") or ""
    email = getattr(user, "email", "") or ""
    return f"{name} <{email}>".strip()[:300]


def _json_roundtrip(data: dict[str, Any]) -> dict[str, Any]:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    result: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return result


@dataclass(frozen=True)
class Problem:
    """One finding of the verifier."""

    seq: int | None
    message: str


@dataclass(frozen=True)
class Verification:
    """Result of :func:`verify`: how many rows were checked and what was wrong."""

    checked: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows() -> Iterator[dict[str, Any]]:
    fields = (*chain.CHAINED_FIELDS, "chain")
    # The verifier reads the whole log on purpose: it checks every organisation's rows.
    queryset = AuditEvent._base_manager.order_by("seq").values(*fields)
    yield from queryset.iterator(chunk_size=2000)


def verify() -> Verification:
    """Recompute the chain over every row and compare it with the stored values and head.

    Detects edited fields, deleted rows (a gap in ``seq``), inserted or reordered rows (a
    broken link), rows without a chain value, and a truncated tail (the head says more).
    """
    problems: list[Problem] = []
    previous = chain.GENESIS
    expected_seq = 1
    checked = 0
    for row in _rows():
        checked += 1
        seq = row["seq"]
        if seq != expected_seq:
            problems.append(Problem(seq, f"expected row #{expected_seq}, found #{seq}"))
        stored = row["chain"] or ""
        if not stored:
            problems.append(Problem(seq, "row has no chain value"))
        computed = chain.link(previous, row)
        if stored and not chain.same(computed, stored):
            problems.append(Problem(seq, "row does not match its chain value"))
        previous = stored or computed
        expected_seq = seq + 1
    problems.extend(_check_head(expected_seq - 1, previous))
    return Verification(checked=checked, problems=problems)


def _check_head(last_seq: int, last_chain: str) -> list[Problem]:
    head = AuditHead.objects.filter(pk=1).first()
    if head is None:
        return [] if last_seq == 0 else [Problem(None, "the chain head is missing")]
    found: list[Problem] = []
    if not chain.same(head.mac or "", chain.head_mac(head.seq, head.chain)):
        found.append(Problem(None, "the chain head does not match its MAC"))
    if head.seq != last_seq:
        found.append(Problem(None, f"the head names row #{head.seq}, the log ends at #{last_seq}"))
    elif head.chain != last_chain and last_seq:
        found.append(Problem(None, "the head's chain value differs from the last row"))
    return found
