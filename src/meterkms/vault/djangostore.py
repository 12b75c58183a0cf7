"""The vault's :class:`~meterkms.vault.store.DataKeyStore` on the Django database.

Every write runs in its own *durable* transaction: a data key or a reservation must be
committed on its own, never inside a caller's transaction that could roll back while blobs
sealed under that key survive elsewhere. Calling a writing method inside an open
transaction therefore raises; callers reserve capacity first (``Vault.prepare``).
"""

from __future__ import annotations

from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Count, F

from meterkms.vault.datakeys import DataKeyRecord, DataKeyState
from meterkms.vault.errors import DataKeyStoreError, UnknownDataKeyError
from meterkms.vault.models import StoredDataKey
from meterkms.vault.providers.base import WrappedKey

ACTIVE = DataKeyState.ACTIVE.value
RETIRED = DataKeyState.RETIRED.value


def _record(row: StoredDataKey) -> DataKeyRecord:
    return DataKeyRecord(
        id=row.id,
        scope=row.scope,
        wrapped=WrappedKey(row.master_key_version, bytes(row.wrapped)),
        state=DataKeyState(row.state),
        encryptions=row.encryptions,
    )


class DjangoDataKeyStore:
    """Data keys in the ``vault_storeddatakey`` table."""

    def load(self, dek_id: UUID) -> DataKeyRecord:
        row = StoredDataKey.objects.filter(pk=dek_id).first()
        if row is None:
            raise UnknownDataKeyError(f"no data key {dek_id} in the store")
        return _record(row)

    def active(self, scope: str) -> DataKeyRecord | None:
        row = StoredDataKey.objects.filter(scope=scope, state=ACTIVE).first()
        return None if row is None else _record(row)

    def install_active(self, record: DataKeyRecord, *, replacing: UUID | None) -> DataKeyRecord:
        if record.state is not DataKeyState.ACTIVE:
            raise DataKeyStoreError("only an active data key can be installed")
        try:
            with transaction.atomic(durable=True):
                if replacing is not None:
                    StoredDataKey.objects.filter(pk=replacing, state=ACTIVE).update(state=RETIRED)
                StoredDataKey.objects.create(
                    id=record.id,
                    scope=record.scope,
                    master_key_version=record.master_key_version,
                    wrapped=record.wrapped.ciphertext,
                    state=ACTIVE,
                    encryptions=record.encryptions,
                )
        except IntegrityError:
            pass  # another process installed first: adopt its data key
        winner = self.active(record.scope)
        if winner is None:
            raise DataKeyStoreError(f"scope {record.scope!r} has no active data key")
        return winner

    def reserve(self, dek_id: UUID, count: int, *, limit: int) -> bool:
        if count < 1:
            raise DataKeyStoreError("a reservation must be for at least one encryption")
        with transaction.atomic(durable=True):
            changed = StoredDataKey.objects.filter(
                pk=dek_id, state=ACTIVE, encryptions__lte=limit - count
            ).update(encryptions=F("encryptions") + count)
        return changed == 1

    def master_key_versions(self) -> dict[str, int]:
        rows = StoredDataKey.objects.values("master_key_version").annotate(n=Count("id"))
        return {row["master_key_version"]: row["n"] for row in rows}

    def list_by_master_key_version(
        self, version: str, *, after: UUID | None, limit: int
    ) -> list[DataKeyRecord]:
        rows = StoredDataKey.objects.filter(master_key_version=version).order_by("id")
        if after is not None:
            rows = rows.filter(id__gt=after)
        return [_record(row) for row in rows[:limit]]

    def save_rewrapped(self, dek_id: UUID, *, expected_version: str, wrapped: WrappedKey) -> bool:
        with transaction.atomic(durable=True):
            changed = StoredDataKey.objects.filter(
                pk=dek_id, master_key_version=expected_version
            ).update(master_key_version=wrapped.master_key_version, wrapped=wrapped.ciphertext)
        return changed == 1
