"""Persistence seam for data keys: the :class:`DataKeyStore` protocol and an in-memory store.

The vault never talks to a database. It calls a ``DataKeyStore``; the Django side implements
it on a model like ``DataKey(id UUID pk, scope, master_key_version, wrapped bytes, state,
encryptions bigint)`` with a partial unique index "one active DEK per scope". The docstrings
below say which operations must be atomic and why; :class:`InMemoryDataKeyStore` is the
reference behaviour (one lock makes every method atomic) and is what the tests run against.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Protocol
from uuid import UUID

from meterkms.vault.datakeys import DataKeyRecord, DataKeyState
from meterkms.vault.errors import DataKeyStoreError, UnknownDataKeyError
from meterkms.vault.providers.base import WrappedKey


class DataKeyStore(Protocol):
    """Where wrapped data keys live. Implementations must be safe across processes."""

    def load(self, dek_id: UUID) -> DataKeyRecord:
        """The record of ``dek_id``; raise :class:`UnknownDataKeyError` when there is none."""
        ...

    def active(self, scope: str) -> DataKeyRecord | None:
        """The active DEK of ``scope``, or None when the scope has none yet."""
        ...

    def install_active(self, record: DataKeyRecord, *, replacing: UUID | None) -> DataKeyRecord:
        """Make ``record`` the active DEK of its scope, unless another process got there first.

        Atomic (one transaction): if the scope's active DEK is ``replacing`` (or there is no
        active DEK and ``replacing`` is None or already retired), retire it and insert
        ``record`` as active; otherwise insert nothing. Return the active DEK afterwards.
        Why atomic: two processes that both find the budget spent must not both install a
        new DEK; the loser adopts the winner's. On SQL, a partial unique index on ``scope``
        where ``state = 'active'`` plus ``UPDATE … SET state='retired' WHERE id=:replacing AND
        state='active'`` in the same transaction; a unique violation means "lost: re-read".
        """
        ...

    def reserve(self, dek_id: UUID, count: int, *, limit: int) -> bool:
        """Reserve ``count`` encryptions of an active DEK against its nonce budget.

        Atomic conditional update: ``UPDATE … SET encryptions = encryptions + :count WHERE
        id = :id AND state = 'active' AND encryptions + :count <= :limit``; True when one row
        changed. Why atomic: concurrent processes each reserve blocks; a read-then-write
        would let two of them spend the same budget and push the DEK past its limit. A
        reservation is never given back (a crashed process only wastes budget).
        """
        ...

    def master_key_versions(self) -> dict[str, int]:
        """How many DEKs each master-key version wraps (for rotation and clean-up)."""
        ...

    def list_by_master_key_version(
        self, version: str, *, after: UUID | None, limit: int
    ) -> list[DataKeyRecord]:
        """Up to ``limit`` DEKs wrapped by ``version`` with id greater than ``after``, by id.

        Keyset paging by id lets a re-wrap job resume anywhere and never loops, even while
        rows move to the new version under it.
        """
        ...

    def save_rewrapped(self, dek_id: UUID, *, expected_version: str, wrapped: WrappedKey) -> bool:
        """Replace the wrapping of ``dek_id`` if it is still wrapped by ``expected_version``.

        Atomic compare-and-set: ``UPDATE … SET master_key_version = :new, wrapped = :bytes
        WHERE id = :id AND master_key_version = :expected``; True when one row changed. Why:
        each DEK is re-wrapped in its own short transaction, so a killed job leaves every row
        either fully old or fully new, and a rerun (or a second job) is idempotent.
        """
        ...


class InMemoryDataKeyStore:
    """A :class:`DataKeyStore` in a dict, for tests and tools; one lock makes it atomic."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[UUID, DataKeyRecord] = {}
        self._active: dict[str, UUID] = {}

    def load(self, dek_id: UUID) -> DataKeyRecord:
        """See :meth:`DataKeyStore.load`."""
        with self._lock:
            try:
                return self._records[dek_id]
            except KeyError:
                raise UnknownDataKeyError(f"no data key {dek_id} in the store") from None

    def active(self, scope: str) -> DataKeyRecord | None:
        """See :meth:`DataKeyStore.active`."""
        with self._lock:
            dek_id = self._active.get(scope)
            return None if dek_id is None else self._records[dek_id]

    def install_active(self, record: DataKeyRecord, *, replacing: UUID | None) -> DataKeyRecord:
        """See :meth:`DataKeyStore.install_active`."""
        if record.state is not DataKeyState.ACTIVE:
            raise DataKeyStoreError("only an active data key can be installed")
        with self._lock:
            if record.id in self._records:
                raise DataKeyStoreError(f"data key {record.id} exists already")
            current = self._active.get(record.scope)
            if current is not None and current != replacing:
                return self._records[current]
            if current is not None:
                self._records[current] = replace(self._records[current], state=DataKeyState.RETIRED)
            self._records[record.id] = record
            self._active[record.scope] = record.id
            return record

    def reserve(self, dek_id: UUID, count: int, *, limit: int) -> bool:
        """See :meth:`DataKeyStore.reserve`."""
        if count < 1:
            raise DataKeyStoreError("a reservation must be for at least one encryption")
        with self._lock:
            record = self._records.get(dek_id)
            if record is None or record.state is not DataKeyState.ACTIVE:
                return False
            if record.encryptions + count > limit:
                return False
            self._records[dek_id] = replace(record, encryptions=record.encryptions + count)
            return True

    def master_key_versions(self) -> dict[str, int]:
        """See :meth:`DataKeyStore.master_key_versions`."""
        counts: dict[str, int] = {}
        with self._lock:
            for record in self._records.values():
                version = record.master_key_version
                counts[version] = counts.get(version, 0) + 1
        return counts

    def list_by_master_key_version(
        self, version: str, *, after: UUID | None, limit: int
    ) -> list[DataKeyRecord]:
        """See :meth:`DataKeyStore.list_by_master_key_version`."""
        with self._lock:
            matching = sorted(
                (r for r in self._records.values() if r.master_key_version == version),
                key=lambda r: r.id,
            )
        if after is not None:
            matching = [r for r in matching if r.id > after]
        return matching[:limit]

    def save_rewrapped(self, dek_id: UUID, *, expected_version: str, wrapped: WrappedKey) -> bool:
        """See :meth:`DataKeyStore.save_rewrapped`."""
        with self._lock:
            record = self._records.get(dek_id)
            if record is None or record.master_key_version != expected_version:
                return False
            self._records[dek_id] = replace(record, wrapped=wrapped)
            return True

    def replace_record(self, record: DataKeyRecord) -> None:
        """Overwrite a record as it is (tests use this to simulate tampering in the database)."""
        with self._lock:
            self._records[record.id] = record
