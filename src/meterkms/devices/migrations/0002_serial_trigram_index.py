"""PostgreSQL: a trigram index so "serial contains" and free-text searches use an index.

``LIKE '%…%'`` cannot use a B-tree; with ``pg_trgm`` a GIN index serves it for patterns of
three or more characters. ``pg_trgm`` is a trusted extension (PostgreSQL 13+), so a database
owner without superuser rights can create it; where that is refused, the migration leaves
a warning and the search stays correct, only slower. SQLite: nothing to do.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, migrations

logger = logging.getLogger(__name__)


def create(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT trigram")
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError as error:
            cursor.execute("ROLLBACK TO SAVEPOINT trigram")
            logger.warning("pg_trgm unavailable (%s): serial 'contains' searches scan", error)
            return
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS device_serial_trgm "
            "ON devices_device USING gin (serial gin_trgm_ops)"
        )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS device_serial_trgm")


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
