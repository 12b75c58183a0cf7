"""The sealing engine: seal and open device keys under per-scope data keys.

:class:`Vault` ties a master-key provider, a data-key store and a DEK cache together. The
blob format and the associated data are described in :mod:`meterkms.vault.blob`.

Nonce discipline: AES-GCM with random 96-bit nonces stays within its security bound for
2^32 encryptions per key (NIST SP 800-38D §8.3). Every encryption under a DEK is counted in
the store: a process reserves a block of encryptions at a time (one store write per
``NonceBudget.block`` seals, not one per seal) and uses it up locally. When a reservation
would pass ``NonceBudget.limit`` the DEK is retired and a new one installed before the next
encryption. A reserved block is also given up after ``lease_seconds``, so a DEK retired by
another process stops receiving new seals from this one within that time.

Threads: the public methods are thread-safe. Reservations (leases) are per thread, so a
thread's prepared capacity is its own, and no lock is held while the store is written (a
process-wide lock around database writes would deadlock against a thread holding the
database's write lock and waiting for it). Nonces come from ``os.urandom``, drawn in one
call per batch.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID, uuid4

from cryptography.exceptions import InvalidTag

from meterkms.vault.blob import (
    FORMAT_V1,
    HEADER_BYTES,
    MAX_PLAINTEXT_BYTES,
    NONCE_BYTES,
    binding_tail,
    check_scope,
    header_data_key_id,
    make_header,
)
from meterkms.vault.cache import DataKeyCache
from meterkms.vault.datakeys import DataKey, DataKeyRecord, data_key_context
from meterkms.vault.errors import BlobIntegrityError, DataKeyStoreError, ScopeMismatchError
from meterkms.vault.providers.base import MasterKeyProvider
from meterkms.vault.store import DataKeyStore

_BODY = HEADER_BYTES + NONCE_BYTES
_NONCES = struct.Struct(f"{NONCE_BYTES}s")
_DOES_NOT_OPEN = (
    "the sealed value does not open for this record, slot and version "
    "(tampered, moved from another row, or under another key)"
)


@dataclass(frozen=True)
class NonceBudget:
    """How many encryptions a DEK may make, and how they are reserved.

    ``limit``: encryptions per DEK before it is replaced (default 2^32, the GCM bound for
    random nonces). ``block``: encryptions reserved per store write. ``lease_seconds``: how
    long an unused reservation may still be used.
    """

    limit: int = 2**32
    block: int = 4096
    lease_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.limit < 1 or self.block < 1 or not self.lease_seconds > 0:
            raise ValueError("a nonce budget needs limit >= 1, block >= 1, lease_seconds > 0")


@dataclass
class _Lease:
    """Encryptions reserved in the store and not yet used by this process."""

    header: bytes  # blob header of the DEK (format byte and DEK id), its cache key
    remaining: int
    expires: float


class Vault:
    """Seals device keys with AES-256-GCM under per-scope data keys; opens them again.

    ``scope`` names the owner of the data keys (``org:<uuid>``); ``record`` is the caller's
    id of the row that holds the blob, ``slot`` the key's role, ``version`` its version.
    """

    def __init__(
        self,
        provider: MasterKeyProvider,
        store: DataKeyStore,
        *,
        cache: DataKeyCache | None = None,
        budget: NonceBudget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.store = store
        self.cache = cache if cache is not None else DataKeyCache(clock=clock)
        self.budget = budget if budget is not None else NonceBudget()
        self._clock = clock
        # Leases are per thread: a reservation a thread made before its database transaction
        # (``prepare``) must not be used up by another thread of the same process.
        self._local = threading.local()

    # -- sealing -------------------------------------------------------------------------

    def seal(self, plaintext: bytes, *, scope: str, record: str, slot: str, version: int) -> bytes:
        """Seal one value for (record, slot, version) under the active DEK of ``scope``."""
        _check_plaintext(plaintext)
        if not isinstance(record, str):
            raise TypeError("a record id must be a string")
        tail = binding_tail(slot, version)
        key, _ = self._take(scope, 1)
        nonce = os.urandom(NONCE_BYTES)
        aad = (key.aad_prefix + tail + record).encode()
        return key.header + nonce + key.encrypt(nonce, plaintext, aad)

    def seal_batch(
        self, *, scope: str, slot: str, version: int, items: Sequence[tuple[str, bytes]]
    ) -> list[bytes]:
        """Seal many values of one slot and version: ``items`` are (record, plaintext) pairs.

        Returns the blobs in the order of ``items``. This is the fast path (one nonce draw and
        one budget reservation per batch); group mixed rows by (slot, version) first.
        Plaintexts must be bytes; unlike :meth:`seal`, their sizes are not checked one by one.
        """
        tail = binding_tail(slot, version)
        total = len(items)
        blobs: list[bytes] = []
        start = 0
        while start < total:
            key, granted = self._take(scope, total - start)
            part = items if granted == total else items[start : start + granted]
            blobs.extend(_seal_part(key, tail, part))
            start += granted
        return blobs

    # -- opening -------------------------------------------------------------------------

    def unseal(self, blob: bytes, *, scope: str, record: str, slot: str, version: int) -> bytes:
        """Open one blob sealed for (record, slot, version) under a DEK of ``scope``.

        Raises :class:`~meterkms.vault.errors.BlobIntegrityError` (or a subclass) for any
        blob that was altered, moved to another record/slot/version, or names a DEK of
        another scope; no bytes are ever returned in that case.
        """
        if not isinstance(record, str):
            raise TypeError("a record id must be a string")
        tail = binding_tail(slot, version)
        key = self._key_for_blob(blob, scope)
        try:
            return key.decrypt(
                blob[HEADER_BYTES:_BODY], blob[_BODY:], (key.aad_prefix + tail + record).encode()
            )
        except (InvalidTag, ValueError):
            raise BlobIntegrityError(_DOES_NOT_OPEN) from None

    def unseal_batch(
        self, *, scope: str, slot: str, version: int, items: Sequence[tuple[str, bytes]]
    ) -> list[bytes]:
        """Open many blobs of one slot and version: ``items`` are (record, blob) pairs.

        All or nothing: the first blob that does not open raises
        :class:`~meterkms.vault.errors.BlobIntegrityError` naming its position.
        """
        tail = binding_tail(slot, version)
        keys: dict[bytes, tuple[Callable[..., bytes], str]] = {}
        opened: list[bytes] = []
        append = opened.append
        last_head: bytes | None = None
        decrypt: Callable[..., bytes] | None = None
        prefix = ""
        try:
            for record, blob in items:
                head = blob[:HEADER_BYTES]
                if head != last_head:
                    entry = keys.get(head)
                    if entry is None:
                        key = self._key_for_blob(head, scope)
                        entry = keys[head] = (key.decrypt, key.aad_prefix + tail)
                    decrypt, prefix = entry
                    last_head = head
                aad = (prefix + record).encode()
                append(decrypt(blob[HEADER_BYTES:_BODY], blob[_BODY:], aad))  # type: ignore[misc]
        except (InvalidTag, ValueError):
            raise BlobIntegrityError(f"item {len(opened) + 1}: {_DOES_NOT_OPEN}") from None
        except BlobIntegrityError as exc:
            raise type(exc)(f"item {len(opened) + 1}: {exc}") from None
        return opened

    # -- data keys -----------------------------------------------------------------------

    @staticmethod
    def data_key_id(blob: bytes) -> UUID:
        """The id of the DEK a blob was sealed under (from its header; not authenticated)."""
        return header_data_key_id(blob)

    def active_data_key_id(self, scope: str) -> UUID | None:
        """The id of the scope's active DEK in the store, or None when it has none yet."""
        check_scope(scope)
        record = self.store.active(scope)
        return None if record is None else record.id

    def rotate_data_key(self, scope: str) -> UUID:
        """Retire the scope's active DEK and install a new one; return the new DEK's id.

        Blobs under the old DEK stay readable; re-seal them with
        :func:`meterkms.vault.rotation.reseal_blobs` to stop depending on it.
        """
        check_scope(scope)
        current = self.store.active(scope)
        installed = self._install(scope, replacing=None if current is None else current.id)
        self._thread_leases().pop(scope, None)
        return installed.id

    def prepare(self, scope: str, count: int, *, seconds: float = 0.0) -> None:
        """Reserve ``count`` encryptions of ``scope`` now, for seals that follow shortly.

        Callers that seal inside a database transaction call this *before* opening it: data
        keys and reservations must be committed on their own, or a rolled-back transaction
        would take a new data key's record with it while blobs sealed under that key live on
        elsewhere. ``seconds`` keeps the reservation usable at least that long.
        """
        check_scope(scope)
        if count < 1:
            return
        now = self._clock()
        lease = self._thread_leases().get(scope)
        if lease is not None and lease.remaining >= count and now + seconds < lease.expires:
            return
        for _ in range(8):
            lease = self._new_lease(scope, count, now)
            if lease.remaining >= count or count > self.budget.limit:
                break
            # The active data key cannot cover the whole batch: start a fresh one.
            self._install(scope, replacing=header_data_key_id(lease.header))
        lease.expires = max(lease.expires, now + seconds)
        self._thread_leases()[scope] = lease

    def release_lease(self, scope: str) -> None:
        """Forget this thread's reserved encryptions of ``scope``.

        The next seal reserves afresh from the store's active DEK, so a rotation made by
        another process is picked up at once (re-seal jobs call this first).
        """
        self._thread_leases().pop(scope, None)

    def _thread_leases(self) -> dict[str, _Lease]:
        leases: dict[str, _Lease] | None = getattr(self._local, "leases", None)
        if leases is None:
            leases = self._local.leases = {}
        return leases

    def _take(self, scope: str, wanted: int) -> tuple[DataKey, int]:
        """The DEK to seal with and how many of ``wanted`` encryptions it may make now."""
        check_scope(scope)
        now = self._clock()
        lease = self._thread_leases().get(scope)
        if lease is None or lease.remaining <= 0 or now >= lease.expires:
            lease = self._new_lease(scope, wanted, now)
            self._thread_leases()[scope] = lease
        granted = min(wanted, lease.remaining)
        lease.remaining -= granted
        header = lease.header
        return self._data_key(header, scope), granted

    def _new_lease(self, scope: str, wanted: int, now: float) -> _Lease:
        """Reserve encryptions from the active DEK, replacing it when its budget is spent."""
        limit, block = self.budget.limit, self.budget.block
        # Largest first: a full block, then just what this call needs, then a single one, so
        # the tail end of a DEK's budget is still used before the DEK is replaced.
        amounts = sorted({min(max(block, wanted), limit), min(wanted, limit), 1}, reverse=True)
        for _ in range(8):
            record = self.store.active(scope) or self._install(scope, replacing=None)
            for amount in amounts:
                if self.store.reserve(record.id, amount, limit=limit):
                    return _Lease(make_header(record.id), amount, now + self.budget.lease_seconds)
            # Budget spent (or the DEK was retired meanwhile): install a successor. If another
            # process already did, install_active hands back its DEK and we retry with that.
            self._install(scope, replacing=record.id)
        raise DataKeyStoreError(
            f"the data-key store refused every reservation for scope {scope!r}; "
            "check that reserve() and install_active() follow the DataKeyStore protocol"
        )

    def _install(self, scope: str, *, replacing: UUID | None) -> DataKeyRecord:
        """Generate a DEK through the provider and try to make it the scope's active one."""
        dek_id = uuid4()
        plaintext, wrapped = self.provider.generate_data_key(data_key_context(dek_id, scope))
        winner = self.store.install_active(
            DataKeyRecord(id=dek_id, scope=scope, wrapped=wrapped), replacing=replacing
        )
        if winner.id == dek_id:
            self.cache.put(DataKey(dek_id, scope, plaintext))
        return winner

    def _data_key(self, header: bytes, scope: str) -> DataKey:
        """The unwrapped DEK a blob header names, from the cache or through the provider."""
        key = self.cache.get(header)
        if key is None:
            record = self.store.load(header_data_key_id(header))
            plaintext = self.provider.unwrap(
                record.wrapped, data_key_context(record.id, record.scope)
            )
            key = DataKey(record.id, record.scope, plaintext)
            self.cache.put(key)
        if key.scope != scope:
            raise ScopeMismatchError(
                "the sealed value belongs to another scope than the one asked for"
            )
        return key

    def _key_for_blob(self, blob: bytes, scope: str) -> DataKey:
        """The DEK named by a blob's header, checked to belong to ``scope``."""
        check_scope(scope)
        header = bytes(blob[:HEADER_BYTES])
        if len(header) < HEADER_BYTES or header[0] != FORMAT_V1:
            header_data_key_id(header)  # raises the precise integrity error
        return self._data_key(header, scope)


def _check_plaintext(plaintext: bytes) -> None:
    if not isinstance(plaintext, bytes) or not 0 < len(plaintext) <= MAX_PLAINTEXT_BYTES:
        raise ValueError(f"a sealed value must be 1-{MAX_PLAINTEXT_BYTES} bytes")


def _seal_part(key: DataKey, tail: str, items: Sequence[tuple[str, bytes]]) -> list[bytes]:
    """Seal (record, plaintext) pairs under one DEK; the hot loop of bulk sealing."""
    header, encrypt, prefix = key.header, key.encrypt, key.aad_prefix + tail
    nonces = _NONCES.iter_unpack(os.urandom(NONCE_BYTES * len(items)))
    # One nonce was drawn per item, so the lengths match by construction; strict=True would
    # only cost time in the hottest loop of the vault.
    return [
        header + nonce + encrypt(nonce, plaintext, (prefix + record).encode())
        for (nonce,), (record, plaintext) in zip(nonces, items, strict=False)
    ]
