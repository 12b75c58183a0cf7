"""Which devices a download names, and which of them may give their keys.

A selection is one device, a list of device ids, everything the device list's filter shows
(its query parameters), or a shipment batch. Of the devices it names, only those CLAIMED by
the actor's organisation or its subtree contribute keys (``devices.queries.
claimed_by_subtree``). The others are *left out* with a reason: an id the actor cannot see is
"not found" exactly like an id that does not exist (another tenant's serial is never named);
a visible device that is unclaimed, pending or held by someone else is "not claimed by your
organisation".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from meterkms.batches.models import Batch
from meterkms.core.errors import DomainError, NotFound
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.filters import DeviceFilter
from meterkms.devices.models import Device
from meterkms.devices.queries import claimed_by_subtree, subtree_ids

#: Most device ids one request may name (a page selection is far smaller).
MAX_DEVICE_IDS = 10_000
#: Left-out devices listed by name; beyond this only counted.
LEFT_OUT_LISTED = 1000


class Kind(StrEnum):
    """How a selection names its devices."""

    DEVICES = "devices"
    FILTER = "filter"
    BATCH = "batch"


class Reason(StrEnum):
    """Why a device gives no key."""

    NOT_FOUND = "not_found"
    NOT_CLAIMED = "not_claimed"
    NO_ACTIVE_KEY = "no_active_key"
    FORMAT = "format"
    DUPLICATE_SERIAL = "duplicate_serial"


REASON_TEXTS = {
    Reason.NOT_FOUND: gettext_lazy("not found"),
    Reason.NOT_CLAIMED: gettext_lazy("not claimed by your organisation"),
    Reason.NO_ACTIVE_KEY: gettext_lazy("no active key"),
    Reason.FORMAT: gettext_lazy("the chosen format cannot hold its keys or identifiers"),
    Reason.DUPLICATE_SERIAL: gettext_lazy(
        "another device in this download has the same serial number"
    ),
}

#: Device-list filter parameters a filter selection keeps (ordering does not matter here).
FILTER_FIELDS = tuple(name for name in DeviceFilter.base_filters if name != "ordering")


@dataclass(frozen=True)
class Selection:
    """The devices one download request names."""

    kind: Kind
    device_ids: tuple[int, ...] = ()
    filter: dict[str, str] = field(default_factory=dict)
    batch_id: int | None = None

    @classmethod
    def devices(cls, ids: list[int] | tuple[int, ...]) -> Selection:
        """One device or a list of them (duplicates dropped, order kept)."""
        unique = tuple(dict.fromkeys(int(pk) for pk in ids))
        if not unique:
            message = _("Select at least one device.")
            raise DomainError(
                "invalid", message, details=[{"field": "devices", "message": message}]
            )
        if len(unique) > MAX_DEVICE_IDS:
            raise DomainError(
                "too_large",
                _("Select at most %(n)d devices, or download by filter.") % {"n": MAX_DEVICE_IDS},
            )
        return cls(Kind.DEVICES, device_ids=unique)

    @classmethod
    def filtered(cls, params: dict[str, Any]) -> Selection:
        """Everything the device list shows with these filter parameters."""
        kept = {name: str(params[name]) for name in FILTER_FIELDS if params.get(name)}
        return cls(Kind.FILTER, filter=kept)

    @classmethod
    def batch(cls, batch_id: int) -> Selection:
        """The devices of one shipment batch."""
        return cls(Kind.BATCH, batch_id=int(batch_id))

    def as_json(self) -> dict[str, Any]:
        """What the download row keeps."""
        data: dict[str, Any] = {"kind": self.kind.value}
        if self.kind == Kind.DEVICES:
            data["devices"] = list(self.device_ids)
        elif self.kind == Kind.FILTER:
            data["filter"] = dict(self.filter)
        else:
            data["batch"] = self.batch_id
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Selection:
        """The selection a download row kept."""
        kind = Kind(data["kind"])
        if kind == Kind.DEVICES:
            return cls.devices(data["devices"])
        if kind == Kind.FILTER:
            return cls.filtered(data.get("filter") or {})
        return cls.batch(data["batch"])


@dataclass
class LeftOut:
    """Devices that give no key: the first few by name, all of them counted."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def add(self, device: int | None, serial: str | None, reason: Reason) -> None:
        """Count one device; list it while the list is short."""
        self.count += 1
        if len(self.entries) < LEFT_OUT_LISTED:
            entry: dict[str, Any] = {"device": device, "reason": reason.value}
            if serial is not None:
                entry["serial"] = serial
            self.entries.append(entry)

    def extend(self, queryset: QuerySet, reason: Reason) -> None:
        """Count and list the devices of ``queryset`` (ordered by serial)."""
        total = queryset.count()
        room = max(0, LEFT_OUT_LISTED - len(self.entries))
        for pk, serial in queryset.order_by("serial", "pk").values_list("pk", "serial")[:room]:
            self.entries.append({"device": pk, "serial": serial, "reason": reason.value})
        self.count += total


@dataclass
class Resolved:
    """The result of resolving a selection for an actor."""

    candidates: QuerySet  # visible devices the selection names
    eligible: QuerySet  # of those, CLAIMED by the actor's subtree
    left_out: LeftOut
    known_count: int | None = None

    def count(self) -> int:
        """How many devices may give keys (counted once)."""
        if self.known_count is None:
            self.known_count = self.eligible.count()
        return self.known_count


def _visible(actor: Any) -> QuerySet:
    return Device.objects.visible_to(actor)


def candidates(selection: Selection, actor: Any) -> QuerySet:
    """The devices the selection names that the actor can see (nothing of other tenants)."""
    visible = _visible(actor)
    if selection.kind == Kind.DEVICES:
        return visible.filter(pk__in=selection.device_ids)
    if selection.kind == Kind.BATCH:
        batch = Batch.objects.visible_to(actor).filter(pk=selection.batch_id).first()
        if batch is None:
            raise NotFound()
        return visible.filter(batch=batch)
    filterset = DeviceFilter(selection.filter or None, queryset=visible, actor=actor)
    if filterset.is_bound and not filterset.is_valid():
        details = [
            {"field": name, "message": str(message)}
            for name, messages in filterset.errors.items()
            for message in messages
        ]
        raise DomainError("invalid", _("Some filters are invalid."), details=details)
    return filterset.qs.order_by()


def resolve(selection: Selection, actor: Any) -> Resolved:
    """Split the selection into the devices whose keys may leave and those left out."""
    named = candidates(selection, actor)
    eligible = claimed_by_subtree(named, actor)
    left_out = LeftOut()
    if selection.kind == Kind.DEVICES:
        # One query for the named ids; the same rule as claimed_by_subtree, in Python.
        subtree = set(subtree_ids(actor))
        found = {
            pk: (serial, owner in subtree and status == ClaimStatus.CLAIMED.value)
            for pk, serial, owner, status in named.values_list(
                "pk", "serial", "owner_id", "claim_status"
            )
        }
        for pk in selection.device_ids:
            if pk not in found:
                # Missing and foreign ids answer alike: no serial, the same reason.
                left_out.add(pk, None, Reason.NOT_FOUND)
            elif not found[pk][1]:
                left_out.add(pk, found[pk][0], Reason.NOT_CLAIMED)
        count = sum(1 for _serial, claimed in found.values() if claimed)
        return Resolved(candidates=named, eligible=eligible, left_out=left_out, known_count=count)
    # The complement of claimed_by_subtree, as a condition (no NOT IN over a subquery).
    held = named.exclude(owner_id__in=subtree_ids(actor), claim_status=ClaimStatus.CLAIMED.value)
    left_out.extend(held, Reason.NOT_CLAIMED)
    return Resolved(candidates=named, eligible=eligible, left_out=left_out)
