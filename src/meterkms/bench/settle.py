"""Bring tables a benchmark just filled to the state of a catalogue in use (PostgreSQL).

A catalogue in use has long been vacuumed and written out. Freshly copied rows are not:
the first queries to read them write their hint bits, and autovacuum and the checkpointer
work through them on the second core while the figures are taken. So after filling, the
benchmark vacuums and analyses its tables and asks for a checkpoint (when allowed).
Inside a transaction (the smoke tests) VACUUM cannot run: the tables are only analysed.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection

log = logging.getLogger(__name__)


def settle(*tables: str) -> None:
    """VACUUM (ANALYZE) ``tables`` and CHECKPOINT; ANALYZE only inside a transaction."""
    if connection.vendor != "postgresql":
        return
    names = ", ".join(f'"{table}"' for table in tables)
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute(f"ANALYZE {names}")
            return
        cursor.execute(f"VACUUM (ANALYZE) {names}")
        try:
            cursor.execute("CHECKPOINT")
        except DatabaseError:  # needs superuser or pg_checkpoint; the figures then vary more
            log.warning("bench: no CHECKPOINT after filling the tables (not allowed)")
