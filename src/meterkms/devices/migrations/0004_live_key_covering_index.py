"""PostgreSQL: the live keys with their sealed blobs in one index, for the proof lookup.

A batch proof looks up thousands of devices per query and reads each one's live key (slot,
version, sealed blob). With the blob in the index (``INCLUDE``), PostgreSQL answers the key
side with an index-only scan and reads no key table page: at 1,000,000 devices each chunk
of 2,000 lookups costs about a quarter less server time. The uniqueness of a live key per
slot stays with ``key_one_live_per_slot``. SQLite has no ``INCLUDE``: nothing to do there.
"""

from __future__ import annotations

from django.db import migrations

INDEX = "key_live_sealed"
LIVE = "('active', 'pre-active')"


def create(apps, schema_editor) -> None:
    # CONCURRENTLY: an upgrade does not block key writes while a big table is indexed.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")  # a failed attempt
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY {INDEX} ON devices_devicekey (device_id, slot) "
            f"INCLUDE (version, sealed) WHERE state IN {LIVE}"
        )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("devices", "0003_key_fingerprint_plain_index")]

    operations = [migrations.RunPython(create, drop)]
