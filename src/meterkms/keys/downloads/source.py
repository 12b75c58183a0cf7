"""The keys of a download, still sealed, streamed from the database in serial order.

One query reads the active keys of the eligible devices with the device fields every format
needs, ordered by serial (the writers group adjacent rows of a device). Rows come in chunks
that never split a device, so per-device rules of a format (an identifier it needs, one key
per device) can be applied here, before anything is unsealed. Devices that give no key for
the chosen format are reported as left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connection, connections
from django.db.models import CharField, Exists, FilteredRelation, OuterRef, Q, QuerySet
from django.db.models.functions import Cast

from meterkms.core.readahead import read_ahead
from meterkms.devices.enums import KeySlot
from meterkms.devices.models import Device, DeviceKey, KeyState, Label
from meterkms.keys.downloads.selection import LeftOut, Reason
from meterkms.keys.exports.formats.json_writers import TTS_SLOTS
from meterkms.keys.exports.formats.rows import LORAWAN_ROOT_SLOTS, TTS_MAC_VERSIONS, WMBUS_SLOTS
from meterkms.organisations.models import subtree_filter

#: Rows fetched per database round trip (and unsealed per vault call).
CHUNK = 2000

#: The columns of a key row, in this order (see the I_* indexes): the device's fields, then
#: those of one of its active keys (``k``, a filtered join).
COLUMNS = (
    "pk",
    "serial",
    "manufacturer_text",
    "device_type__name",
    "wmbus_manufacturer",
    "meter_address",
    "wmbus_version",
    "medium",
    "module_address",
    "dev_eui",
    "join_eui",
    "dev_addr",
    "lorawan_version",
    "k__slot",
    "k__algorithm",
    "k__version",
    "k__sealed",
    "k__kcv",
    "k__fingerprint",
)
(
    I_DEVICE,
    I_SERIAL,
    I_MANUFACTURER,
    I_TYPE,
    I_WMBUS_MANUFACTURER,
    I_METER_ADDRESS,
    I_WMBUS_VERSION,
    I_MEDIUM,
    I_MODULE_ADDRESS,
    I_DEV_EUI,
    I_JOIN_EUI,
    I_DEV_ADDR,
    I_LORAWAN_VERSION,
    I_SLOT,
    I_ALGORITHM,
    I_VERSION,
    I_SEALED,
    I_KCV,
    I_FINGERPRINT,
) = range(len(COLUMNS))

Row = tuple[Any, ...]

_ALL = frozenset(KeySlot)
#: Key slots each format can hold (The Things Stack CSV: root keys; session keys go as JSON).
FORMAT_SLOTS: dict[str, frozenset[KeySlot]] = {
    "csv": _ALL,
    "xlsx": _ALL,
    "json": _ALL,
    "tts-csv": LORAWAN_ROOT_SLOTS,
    "tts-json": TTS_SLOTS,
    "chirpstack": LORAWAN_ROOT_SLOTS,
    "keylist": WMBUS_SLOTS,
    "wmbusmeters": WMBUS_SLOTS,
}


def _batches(sql: str, params: Any, *, vendor_cursor: Any) -> Iterator[list[Row]]:
    """Raw batches of rows from a cursor (the column values as the driver gives them)."""
    with vendor_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            yield rows


def fetched(queryset: QuerySet, *, small: bool = False) -> Iterator[list[Row]]:
    """The rows of ``queryset`` in batches, read ahead by a second thread when possible.

    The query runs on a server-side cursor (PostgreSQL) and comes back in batches straight
    from the driver: no model or per-row layers. Outside a transaction the reading runs on
    its own thread and database connection, so the database works on the next batch while
    this thread unseals and formats the last one (the two cores of a small server both
    work). Inside a transaction (tests, or a caller's atomic block) another connection would
    not see its rows: then it reads in line. Manufacturer ids come as the driver gives them
    (a UUID, or hex text on SQLite); see ``build.scope_of_row``.
    """
    sql, params = queryset.query.sql_with_params()
    if small:  # one batch at most: one plain query, no cursor to declare and close
        yield from _batches(sql, params, vendor_cursor=connection.cursor)
        return
    if connection.in_atomic_block:
        yield from _batches(sql, params, vendor_cursor=connection.chunked_cursor)
        return

    def produce() -> Iterator[list[Row]]:
        own = connections["default"]  # this thread's connection, not the caller's
        return _batches(sql, params, vendor_cursor=own.chunked_cursor)

    yield from read_ahead(produce, name="download-rows", finish=connections.close_all)


def _lorawan_ok(device: list[Row]) -> bool:
    head = device[0]
    version = head[I_LORAWAN_VERSION]
    return bool(head[I_DEV_EUI] and head[I_JOIN_EUI]) and (
        not version or version in TTS_MAC_VERSIONS
    )


def _chirpstack_ok(device: list[Row]) -> bool:
    if not _lorawan_ok(device):
        return False
    slots = {row[I_SLOT] for row in device}
    version = device[0][I_LORAWAN_VERSION] or "1.0"
    if version.startswith("1.0"):
        return slots == {KeySlot.LORAWAN_APPKEY.value}
    return slots == {KeySlot.LORAWAN_APPKEY.value, KeySlot.LORAWAN_NWKKEY.value}


def _single_wmbus_key(device: list[Row]) -> bool:
    return len(device) == 1


def _wmbusmeters_ok(device: list[Row]) -> bool:
    return len(device) == 1 and bool(device[0][I_METER_ADDRESS])


#: Per-device rules of the formats that have them (the writers refuse what fails them).
DEVICE_RULES = {
    "tts-csv": _lorawan_ok,
    "tts-json": _lorawan_ok,
    "chirpstack": _chirpstack_ok,
    "keylist": _single_wmbus_key,
    "wmbusmeters": _wmbusmeters_ok,
}


def key_rows(eligible: QuerySet, format_name: str) -> QuerySet:
    """Active keys of ``eligible`` devices that the format can hold, in serial order.

    Driven from the devices (their own filters, no ``IN`` list), joined to their active keys,
    so that PostgreSQL can walk the serial index and stream rows without sorting them all.
    """
    condition = Q(keys__state=KeyState.ACTIVE)
    slots = FORMAT_SLOTS[format_name]
    if slots != _ALL:
        condition &= Q(keys__slot__in=sorted(slot.value for slot in slots))
    return (
        eligible.annotate(
            k=FilteredRelation("keys", condition=condition),
            # As text: hashed and compared per row by C code, not as a UUID object each.
            manufacturer_text=Cast("manufacturer_id", output_field=CharField()),
        )
        .filter(k__isnull=False)
        .order_by("serial", "pk", "k__slot")
        .values_list(*COLUMNS)
    )


def report_keyless(eligible: QuerySet, format_name: str, left_out: LeftOut) -> None:
    """Left-out entries for eligible devices without an active key the format can hold."""
    active = DeviceKey._base_manager.filter(device=OuterRef("pk"), state=KeyState.ACTIVE)
    bare = eligible.alias(has_key=Exists(active)).filter(has_key=False)
    left_out.extend(bare, Reason.NO_ACTIVE_KEY)
    slots = [slot.value for slot in FORMAT_SLOTS[format_name]]
    if len(slots) < len(_ALL):
        fitting = active.filter(slot__in=slots)
        unfit = eligible.alias(has_key=Exists(active), fits=Exists(fitting)).filter(
            has_key=True, fits=False
        )
        left_out.extend(unfit, Reason.FORMAT)


def _devices(rows: list[Row]) -> Iterator[list[Row]]:
    """Adjacent rows of one device id as one list."""
    device: list[Row] = []
    for row in rows:
        if device and row[I_DEVICE] != device[0][I_DEVICE]:
            yield device
            device = []
        device.append(row)
    if device:
        yield device


class KeySource:
    """Chunks of key rows for one download; counts what it passes and reports what it drops.

    Chunks never split a device. Devices the format's rules refuse, and a second device with
    a serial already written (the writers would merge them), go to ``left_out``.
    """

    def __init__(
        self, eligible: QuerySet, format_name: str, left_out: LeftOut, *, expected: int
    ) -> None:
        self.queryset = key_rows(eligible, format_name)
        self.small = expected <= CHUNK // 8  # devices; a few keys each still fit one batch
        self.rule = DEVICE_RULES.get(format_name)
        self.left_out = left_out
        self.devices = 0
        self.keys = 0
        self.seen = 0  # devices with a key row, whether kept or left out
        self._last: tuple[str, int] | None = None

    def chunks(self) -> Iterator[list[Row]]:
        """Lists of about :data:`CHUNK` rows, each holding whole devices."""
        carry: list[Row] = []
        for batch in fetched(self.queryset, small=self.small):
            rows = carry + list(batch) if carry else list(batch)
            # Keep the last device back: its next keys may be in the next batch.
            last = rows[-1][I_DEVICE]
            cut = len(rows)
            while cut and rows[cut - 1][I_DEVICE] == last:
                cut -= 1
            carry = rows[cut:]
            if cut:
                yield self._accept(rows[:cut])
        if carry:
            yield self._accept(carry)

    def _accept(self, rows: list[Row]) -> list[Row]:
        if self.rule is None and not self._shared_serials(rows):
            count = self._count_devices(rows)
            self.devices += count
            self.seen += count
            self.keys += len(rows)
            return rows
        kept: list[Row] = []
        for device in _devices(rows):
            head = device[0]
            self.seen += 1
            last = self._last
            if last is not None and last[0] == head[I_SERIAL] and last[1] != head[I_DEVICE]:
                self.left_out.add(head[I_DEVICE], head[I_SERIAL], Reason.DUPLICATE_SERIAL)
                continue
            if self.rule is not None and not self.rule(device):
                self.left_out.add(head[I_DEVICE], head[I_SERIAL], Reason.FORMAT)
                continue
            self._last = (head[I_SERIAL], head[I_DEVICE])
            kept.extend(device)
            self.devices += 1
            self.keys += len(device)
        return kept

    def _count_devices(self, rows: list[Row]) -> int:
        """Devices in ``rows`` (the fast path: no rule, no shared serial)."""
        count, last = 0, None
        for row in rows:
            if row[I_DEVICE] != last:
                count, last = count + 1, row[I_DEVICE]
        self._last = (rows[-1][I_SERIAL], rows[-1][I_DEVICE])
        return count

    def _shared_serials(self, rows: list[Row]) -> bool:
        """True when two devices in ``rows`` (or across the chunk border) share a serial."""
        serials = {row[I_SERIAL] for row in rows}
        devices = {row[I_DEVICE] for row in rows}
        if len(serials) != len(devices):
            return True
        last = self._last
        return last is not None and last[0] == rows[0][I_SERIAL] and last[1] != rows[0][I_DEVICE]


def labels_of(device_ids: list[int], actor: Any) -> dict[int, tuple[str, ...]]:
    """The labels of these devices that the actor's tree may see, by device id."""
    links = (
        Device.labels.through._base_manager.filter(device_id__in=device_ids)
        .filter(subtree_filter("label__organisation__path", actor.organisation_path))
        .order_by("device_id", "label__name")
        .values_list("device_id", "label__name")
    )
    found: dict[int, list[str]] = {}
    for device_id, name in links:
        found.setdefault(device_id, []).append(name)
    return {device_id: tuple(names) for device_id, names in found.items()}


def any_labels(eligible: QuerySet, actor: Any) -> bool:
    """Whether any eligible device carries a label of the actor's tree (else skip lookups)."""
    return Label.objects.visible_to(actor).filter(devices__in=eligible.values("pk")).exists()
