"""Candidate keys from the catalogue: the proof service's bulk lookup, one query per chunk.

:meth:`CatalogueLookup.rows` reads the live keys (still sealed) of the visible devices under
a chunk's addresses with one query; it touches only the database, so the proof service may
run it for the next chunk on a second connection while this chunk is proven.
:meth:`CatalogueLookup.candidates` keeps the rows that really answer an address, opens their
keys in batches (one vault call per manufacturer scope, slot and version) and returns the
engine's candidates. Plain rows straight from the driver, no model instances: a chunk
carries thousands of them.

On PostgreSQL the query is served by two indexes: the partial address index of the devices
(its condition repeated in the query, see :meth:`CatalogueLookup.address_match`) and
``key_one_live_per_slot``, which holds each live key's slot, version and sealed blob, so the
key side is an index-only scan.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import CharField, F, Lookup, Q
from django.db.models.functions import Cast

from meterkms.devices.enums import KeySlot, Technology
from meterkms.devices.models import Device, KeyState
from meterkms.vault.engine import Vault
from meterkms.vault.errors import BlobIntegrityError
from meterkms.vault.runtime import get_vault

from .model import Candidate, DeviceAddress
from .rows import DeviceRef, KeyRef

log = logging.getLogger(__name__)

LIVE_STATES = (KeyState.ACTIVE.value, KeyState.PRE_ACTIVE.value)
#: Slots tried per technology, in the order they are tried.
WMBUS_SLOTS = (KeySlot.OMS, KeySlot.MBUS, KeySlot.DES)
LORAWAN_SLOTS = (KeySlot.LORAWAN_APPKEY, KeySlot.LORAWAN_NWKKEY)
_SLOTS = {slot.value: slot for slot in WMBUS_SLOTS + LORAWAN_SLOTS}
_SLOT_VALUES = tuple(_SLOTS)
_WMBUS_SLOTS = frozenset(slot.value for slot in WMBUS_SLOTS)
_SLOT_RANK = {slot.value: rank for rank, slot in enumerate(WMBUS_SLOTS + LORAWAN_SLOTS)}
_WMBUS = Technology.WMBUS
_LORAWAN = Technology.LORAWAN
_COLUMNS = (
    "pk",
    "serial",
    # As text: thousands of rows share a handful of manufacturers, and text is cheaper to
    # read and to group by than UUID objects.
    Cast("manufacturer_id", output_field=CharField()),
    "wmbus_manufacturer",
    "meter_address",
    "module_address",
    "dev_eui",
    "keys__slot",
    "keys__version",
    "keys__sealed",
)
# Positions in a row of _COLUMNS.
_PK, _SERIAL, _MAKER, _CODE, _METER, _MODULE, _EUI, _SLOT, _VERSION, _BLOB = range(10)

Row = tuple[Any, ...]
Where = tuple[DeviceAddress, ...]


class AnyOf(Lookup):  # type: ignore[type-arg]
    """``column = ANY(…)`` with one parameter on PostgreSQL, ``column IN (…)`` elsewhere.

    A chunk asks for thousands of addresses; Django's compiler and the driver spend their
    time per placeholder, so PostgreSQL gets them as one comma-separated text (addresses are
    hex digits and letters) that the server splits.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        values = [str(value) for value in self.rhs]
        if connection.vendor == "postgresql":
            if any("," in value for value in values):
                return f"{lhs} = ANY(%s)", [*params, values]
            return f"{lhs} = ANY(string_to_array(%s, ','))", [*params, ",".join(values)]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*params, *values]


class CatalogueLookup:
    """The bulk lookup of one proof run: live keys of visible devices, by address.

    wM-Bus addresses (manufacturer code, 8 digits) match a device's manufacturer code and
    meter address, or its radio module address with any manufacturer code (an external
    module may be of another maker than its meter). LoRaWAN addresses match the DevEUI.
    Only devices the actor may see are read. After :meth:`candidates`, :meth:`key_ref`
    names the device, slot and version behind each candidate of that chunk (never its key).
    """

    def __init__(self, actor: Any, vault: Vault | None = None) -> None:
        self.devices = Device.objects.visible_to(actor).order_by()
        self.vault = vault if vault is not None else get_vault()
        self.unreadable = 0
        self._by_ref: dict[str, Row] = {}
        self._scopes: dict[str, str] = {}
        # Most catalogues have no radio module addresses: then no chunk needs to ask.
        self._modules = self.devices.filter(module_address__gt="").exists()

    def __call__(self, wanted: set[DeviceAddress]) -> dict[DeviceAddress, list[Candidate]]:
        """The engine's ``Fetch``: :meth:`rows` then :meth:`candidates`."""
        return self.candidates(self.rows(wanted), wanted)

    def rows(self, wanted: set[DeviceAddress]) -> list[Row]:
        """One query: the live (sealed) keys of visible devices that may sit under ``wanted``.

        A superset: manufacturer codes and identifiers are matched each on their own.
        Database only, so it may run in another thread on that thread's connection.
        """
        match = self.address_match(wanted)
        if not match:
            return []
        live = self.devices.filter(match, keys__state__in=LIVE_STATES, keys__slot__in=_SLOT_VALUES)
        # Straight from the driver: Django's iterator would fetch in steps of 100 and touch
        # every row in Python, holding the interpreter lock the proving thread needs.
        sql, params = live.values_list(*_COLUMNS).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def address_match(self, wanted: set[DeviceAddress]) -> Q:
        """Devices that may sit under ``wanted`` (empty Q: none can)."""
        codes, identifiers, euis = set(), [], []
        for address in wanted:
            if address.technology is _LORAWAN:
                euis.append(address.identifier)
            else:
                codes.add(address.manufacturer)
                identifiers.append(address.identifier)
        # Each branch repeats its partial index's condition (``<> ''``): PostgreSQL cannot
        # derive it from an ``= ANY`` of more than 100 values, and would scan the table.
        match = Q()
        if identifiers:
            match |= Q(
                AnyOf(F("wmbus_manufacturer"), codes),
                AnyOf(F("meter_address"), identifiers),
                ~Q(meter_address=""),
            )
            if self._modules:
                match |= Q(AnyOf(F("module_address"), identifiers), ~Q(module_address=""))
        if euis:
            match |= Q(AnyOf(F("dev_eui"), euis), ~Q(dev_eui=""))
        return match

    def candidates(
        self, rows: list[Row], wanted: set[DeviceAddress]
    ) -> dict[DeviceAddress, list[Candidate]]:
        """The candidates under each wanted address: rows matched exactly, then unsealed.

        Only keys of rows that answer a wanted address are opened (the query is a superset).
        """
        self._by_ref = by_ref = {}
        found: dict[DeviceAddress, list[Candidate]] = {}
        targets = _Targets(wanted)
        answering = [(row, where) for row in rows if (where := targets.of(row))]
        for (row, where), key in self._unseal(answering):
            ref = f"#{row[_PK]} {row[_SLOT]} v{row[_VERSION]}"
            by_ref[ref] = row
            candidate = Candidate(ref, key, _SLOTS[row[_SLOT]])
            for address in where:
                listed = found.get(address)
                if listed is None:
                    found[address] = [candidate]
                else:
                    listed.append(candidate)
        for listed in found.values():
            if len(listed) > 1:  # several keys: OMS before MBUS before DES, then by device
                listed.sort(key=self._rank)
        return found

    def key_ref(self, ref: str) -> KeyRef:
        """Device, slot and version of a candidate reference of the latest chunk."""
        row = self._by_ref[ref]
        return KeyRef(DeviceRef(row[_PK], row[_SERIAL]), _SLOTS[row[_SLOT]], row[_VERSION])

    def device_id(self, ref: str) -> int:
        """The device id of a candidate reference of the latest chunk."""
        device_id: int = self._by_ref[ref][_PK]
        return device_id

    def _rank(self, candidate: Candidate) -> tuple[int, int]:
        row = self._by_ref[candidate.ref]
        return _SLOT_RANK[row[_SLOT]], row[_PK]

    def _unseal(
        self, matches: list[tuple[Row, Where]]
    ) -> Iterator[tuple[tuple[Row, Where], bytes]]:
        """Each match with its row's opened key, grouped by (manufacturer, slot, version)."""
        groups: dict[tuple[str, str, int], list[tuple[Row, Where]]] = {}
        for match in matches:
            row = match[0]
            group = (row[_MAKER], row[_SLOT], row[_VERSION])
            members = groups.get(group)
            if members is None:
                groups[group] = [match]
            else:
                members.append(match)
        for (maker, slot, version), members in groups.items():
            scope = self._scope(maker)
            items = [(str(row[_PK]), bytes(row[_BLOB])) for row, _where in members]
            try:
                keys = self.vault.unseal_batch(scope=scope, slot=slot, version=version, items=items)
            except BlobIntegrityError:
                keys = self._unseal_one_by_one(scope, slot, version, items)
            for match, key in zip(members, keys, strict=True):
                if key is not None:
                    yield match, key

    def _scope(self, maker: str) -> str:
        """The vault scope of a manufacturer id read as text (SQLite keeps it unhyphenated)."""
        scope = self._scopes.get(maker)
        if scope is None:
            scope = self._scopes[maker] = f"org:{uuid.UUID(maker)}"
        return scope

    def _unseal_one_by_one(
        self, scope: str, slot: str, version: int, items: list[tuple[str, bytes]]
    ) -> list[bytes | None]:
        """The slow path after a batch failed: skip (and count) the blobs that do not open."""
        keys: list[bytes | None] = []
        for record_id, blob in items:
            try:
                key = self.vault.unseal(
                    blob, scope=scope, record=record_id, slot=slot, version=version
                )
            except BlobIntegrityError:
                # The device id and slot only: the blob itself must not reach a log.
                log.warning("proof: the %s key of device %s does not open", slot, record_id)
                self.unreadable += 1
                keys.append(None)
            else:
                keys.append(key)
        return keys


class _Targets:
    """Which wanted addresses a key row answers (exactly, unlike the query)."""

    def __init__(self, wanted: set[DeviceAddress]) -> None:
        self.wanted = wanted
        # Plain (code, identifier) tuples hash faster than addresses holding an enum.
        self.meters = {
            (address.manufacturer, address.identifier): address
            for address in wanted
            if address.technology is _WMBUS
        }
        self.modules: dict[str, list[DeviceAddress]] | None = None

    def of(self, row: Row) -> Where:
        """The wanted addresses ``row``'s key may be tried under (none: not wanted)."""
        if row[_SLOT] not in _WMBUS_SLOTS:
            address = DeviceAddress(_LORAWAN, "", row[_EUI]) if row[_EUI] else None
            return (address,) if address in self.wanted else ()
        meter = self.meters.get((row[_CODE], row[_METER]))
        if not row[_MODULE]:  # the common case: a meter without a radio module address
            return () if meter is None else (meter,)
        if self.modules is None:
            self.modules = {}
            for address in self.wanted:
                if address.technology is _WMBUS:
                    self.modules.setdefault(address.identifier, []).append(address)
        where = [] if meter is None else [meter]
        where += [a for a in self.modules.get(row[_MODULE], ()) if a not in where]
        return tuple(where)
