"""Rotation: re-wrap data keys under a new master key, re-seal values under a new data key.

Master-key rotation (:func:`rewrap_data_keys`): every DEK still wrapped by an older master-key
version is unwrapped (by the provider that holds that version), wrapped by the target
provider's current key, verified by unwrapping the new wrapping, and saved with a
compare-and-set on its old version. Each DEK is independent, so the job is resumable and
idempotent: after ``kill -9`` every DEK is either fully old or fully new, and a rerun does
the rest. Old versions stay configured (as previous keys) for unwrapping until
:func:`unreferenced_versions` says no DEK needs them.

Data-key rotation: :meth:`meterkms.vault.engine.Vault.rotate_data_key` retires a scope's
DEK; :func:`reseal_blobs` moves a batch of blobs to the scope's active DEK. The job loop and
the database writes are the caller's; these functions only take and return blobs.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from meterkms.vault.datakeys import data_key_context
from meterkms.vault.engine import Vault
from meterkms.vault.errors import (
    UnknownMasterKeyVersionError,
    VaultIntegrityError,
    WrappedKeyIntegrityError,
)
from meterkms.vault.providers.base import MasterKeyProvider
from meterkms.vault.store import DataKeyStore


@dataclass
class RewrapReport:
    """Outcome of one run of :func:`rewrap_data_keys`."""

    target_version: str
    rewrapped: int = 0
    unchanged: int = 0
    failed: dict[UUID, str] = field(default_factory=dict)
    versions_after: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when every DEK is now wrapped by the target version."""
        return set(self.versions_after) <= {self.target_version}


def _holder(version: str, providers: Sequence[MasterKeyProvider]) -> MasterKeyProvider:
    for provider in providers:
        if version in provider.known_versions:
            return provider
    raise UnknownMasterKeyVersionError(
        f"no configured provider holds master key {version}; configure it as a previous "
        "key (or pass its provider as a source) until every data key is re-wrapped"
    )


def rewrap_data_key(
    store: DataKeyStore,
    dek_id: UUID,
    *,
    target: MasterKeyProvider,
    sources: Sequence[MasterKeyProvider] = (),
) -> bool:
    """Re-wrap one DEK under ``target``'s current master key; True if this call changed it.

    Returns False when the DEK is already wrapped by the target version or another job saved
    it first. Raises :class:`WrappedKeyIntegrityError` when the stored wrapping (or the new
    one, on verification) does not open.
    """
    record = store.load(dek_id)
    old_version = record.master_key_version
    if old_version == target.key_version:
        return False
    context = data_key_context(record.id, record.scope)
    plaintext = _holder(old_version, (target, *sources)).unwrap(record.wrapped, context)
    wrapped = target.wrap(plaintext, context)
    # Verify before the old wrapping is overwritten: a faulty new wrapping would lose the DEK.
    if not hmac.compare_digest(target.unwrap(wrapped, context), plaintext):
        raise WrappedKeyIntegrityError(f"re-wrapping data key {dek_id} did not verify")
    return store.save_rewrapped(dek_id, expected_version=old_version, wrapped=wrapped)


def rewrap_data_keys(
    store: DataKeyStore,
    *,
    target: MasterKeyProvider,
    sources: Sequence[MasterKeyProvider] = (),
    batch_size: int = 100,
    progress: Callable[[RewrapReport], None] | None = None,
) -> RewrapReport:
    """Re-wrap every DEK not yet under ``target.key_version``; safe to rerun at any time.

    ``target`` must also be able to unwrap older versions (configured with previous keys),
    or the providers holding them are passed as ``sources`` (e.g. moving from ``local`` to
    ``pkcs11``). A DEK whose wrapping does not open is listed in ``failed`` and skipped;
    an unknown version or an unreachable provider stops the run (rerun later).
    """
    report = RewrapReport(target_version=target.key_version)
    for version in sorted(store.master_key_versions()):
        if version == target.key_version:
            continue
        after: UUID | None = None
        while page := store.list_by_master_key_version(version, after=after, limit=batch_size):
            for record in page:
                try:
                    changed = rewrap_data_key(store, record.id, target=target, sources=sources)
                except UnknownMasterKeyVersionError:
                    raise
                except VaultIntegrityError as exc:
                    report.failed[record.id] = str(exc)
                    continue
                if changed:
                    report.rewrapped += 1
                else:
                    report.unchanged += 1
            after = page[-1].id
            if progress is not None:
                progress(report)
    report.versions_after = store.master_key_versions()
    return report


def unreferenced_versions(provider: MasterKeyProvider, store: DataKeyStore) -> tuple[str, ...]:
    """Previous master-key versions of ``provider`` that no DEK uses any more (removable)."""
    in_use = store.master_key_versions()
    return tuple(v for v in provider.known_versions[1:] if in_use.get(v, 0) == 0)


def reseal_blobs(
    vault: Vault, *, scope: str, slot: str, version: int, items: Sequence[tuple[str, bytes]]
) -> list[bytes]:
    """Move (record, blob) pairs of one slot and version to the scope's active DEK.

    Returns the blobs in input order: unchanged where a blob is already under the active
    DEK, otherwise opened and sealed again (same record, slot, version; new nonce). Running
    it again on its own output changes nothing. Plaintexts exist only inside this call.
    """
    vault.release_lease(scope)  # this thread's lease only: other threads keep theirs
    active = vault.active_data_key_id(scope)
    stale = [i for i, (_, blob) in enumerate(items) if Vault.data_key_id(blob) != active]
    if not stale:
        return [blob for _, blob in items]
    stale_items = [items[i] for i in stale]
    plaintexts = vault.unseal_batch(scope=scope, slot=slot, version=version, items=stale_items)
    fresh = vault.seal_batch(
        scope=scope,
        slot=slot,
        version=version,
        items=[(record, plain) for (record, _), plain in zip(stale_items, plaintexts, strict=True)],
    )
    del plaintexts
    result = [blob for _, blob in items]
    for index, blob in zip(stale, fresh, strict=True):
        result[index] = blob
    return result
