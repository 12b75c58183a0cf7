"""In-memory cache of unwrapped data keys, bounded in size and age.

Unwrapping a DEK costs an HSM or KMS round trip (tens of microseconds on SoftHSM, about
3 ms on a KMS over HTTP), so unwrapped DEKs are kept for a while. Only DEKs are cached:
device keys and other unsealed values are never cached anywhere (a test searches the source
for such caches).

Bounds, which hold after every call:

* at most ``max_entries`` DEKs are held;
* a DEK is never returned, and not kept past the next call, once ``ttl_seconds`` have passed
  since it was put in.

Expiry counts from insertion, so insertion order is expiry order: one ordered dict serves
both expiry (drop from the front) and eviction when full (drop the oldest, which would expire
first anyway). The clock is injectable for tests.

Entries are keyed by the DEK's 17-byte blob header (format byte and DEK id), the form in which
every blob names its DEK, so opening a blob looks its DEK up without building a UUID.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from meterkms.vault.datakeys import DataKey

DEFAULT_MAX_ENTRIES = 1024
DEFAULT_TTL_SECONDS = 600.0


class DataKeyCache:
    """Holds unwrapped :class:`DataKey` objects by DEK header; thread-safe."""

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be zero (no caching) or more")
        if not (math.isfinite(ttl_seconds) and ttl_seconds >= 0):
            raise ValueError("ttl_seconds must be a finite number of seconds, zero or more")
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # DEK header -> (clock value when put in, DEK), in insertion order.
        self._entries: OrderedDict[bytes, tuple[float, DataKey]] = OrderedDict()
        # When the oldest entry expires: lets get() skip the purge in the common case.
        self._next_expiry = math.inf

    def _purge(self, now: float) -> None:
        """Drop expired entries from the front (caller holds the lock)."""
        if now < self._next_expiry:
            return
        entries = self._entries
        while entries:
            header, (inserted, _) = next(iter(entries.items()))
            if now - inserted < self.ttl_seconds:
                self._next_expiry = inserted + self.ttl_seconds
                return
            del entries[header]
        self._next_expiry = math.inf

    def get(self, header: bytes) -> DataKey | None:
        """The cached DEK named by a blob ``header``, or None when absent or expired."""
        with self._lock:
            self._purge(self._clock())
            entry = self._entries.get(header)
            return None if entry is None else entry[1]

    def put(self, key: DataKey) -> None:
        """Cache ``key`` for ``ttl_seconds``, evicting the oldest entries beyond the bound."""
        # Only DataKey objects may enter: this is what keeps device keys out of the cache.
        if not isinstance(key, DataKey):
            raise TypeError("only unwrapped data keys (DataKey) can be cached")
        with self._lock:
            now = self._clock()
            self._purge(now)
            self._entries.pop(key.header, None)
            if self.max_entries == 0 or self.ttl_seconds == 0:
                return
            while len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)
            self._entries[key.header] = (now, key)
            # Removing or evicting entries only makes the true next expiry later, so the
            # remembered one stays a safe lower bound; a new entry cannot expire sooner.
            self._next_expiry = min(self._next_expiry, now + self.ttl_seconds)

    def discard(self, header: bytes) -> None:
        """Forget one DEK, named by its blob header (after its record changed)."""
        with self._lock:
            self._entries.pop(header, None)

    def clear(self) -> None:
        """Forget every DEK."""
        with self._lock:
            self._entries.clear()

    def ages(self) -> list[float]:
        """Seconds since each held DEK was put in, oldest first (for monitoring and tests)."""
        with self._lock:
            now = self._clock()
            self._purge(now)
            return [now - inserted for inserted, _ in self._entries.values()]

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._entries)
