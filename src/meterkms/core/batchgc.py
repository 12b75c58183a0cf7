"""Garbage collection for batch loops: at chunk boundaries instead of every 700 allocations.

A batch loop (a proof run, an import) builds thousands of small objects per chunk that all
live until the chunk is done. Python's automatic collector runs every 700 new container
objects and finds none of them dead; it promotes them, and the older generations then fill up
and are walked again and again. That costs 10–40 % of such a loop. Inside
:func:`collect_per_chunk` the automatic collector is off and the loop calls
:meth:`ChunkCollector.chunk_done` between chunks, when the last chunk's objects are already
freed by reference counting (or, in the import, every 1,000 rows read): one young
collection then walks only what is new since the last, and garbage in cycles (rare here)
still goes within one chunk.

The collector is one per process, so the switch is shared: the first loop to enter turns
automatic collection off, the last to leave turns it back on, and a process that had it off
already keeps it off. Meanwhile other threads rely on these loops' young collections (one
per chunk: every 1,000 import rows or 2,000 proof lines, i.e. every few tens of
milliseconds); the oldest generation waits until automatic collection is back. A loop must
own the switch for its whole duration (a ``with`` around the loop, not inside a generator
that a caller might leave suspended). Used by the proof runs and the import.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_restore = False


class ChunkCollector:
    """Handed to the loop: call :meth:`chunk_done` after each chunk."""

    __slots__ = ()

    def chunk_done(self) -> None:
        """Collect the young generations (what the chunks just done left behind)."""
        gc.collect(1)


@contextmanager
def collect_per_chunk() -> Iterator[ChunkCollector]:
    """Automatic collection off for the block; the loop collects at its chunk boundaries."""
    global _holders, _restore
    with _lock:
        if _holders == 0:
            _restore = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield ChunkCollector()
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _restore:
                gc.enable()
