"""Make audit events append-only in the database itself, on PostgreSQL and SQLite.

Updates are refused except setting ``actor_id`` / ``organisation_id`` to NULL (what
Django's SET_NULL does when a user or organisation is deleted; the chain covers copies of
both, not the foreign keys). Deletes are always refused.
"""

from django.db import migrations

TABLE = "audit_auditevent"
NULLABLE = ("actor_id", "organisation_id")

PG_UP = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit events are append-only';
  END IF;
  IF (to_jsonb(NEW) - 'actor_id' - 'organisation_id')
       IS DISTINCT FROM (to_jsonb(OLD) - 'actor_id' - 'organisation_id')
     OR (NEW.actor_id IS NOT NULL AND NEW.actor_id IS DISTINCT FROM OLD.actor_id)
     OR (NEW.organisation_id IS NOT NULL
         AND NEW.organisation_id IS DISTINCT FROM OLD.organisation_id) THEN
    RAISE EXCEPTION 'audit events are append-only';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON {TABLE}
  FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""
PG_DOWN = f"""
DROP TRIGGER IF EXISTS audit_event_append_only ON {TABLE};
DROP FUNCTION IF EXISTS audit_event_append_only();
"""


def _sqlite_up(columns: list[str]) -> list[str]:
    unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in columns if c not in NULLABLE)
    nulled = " AND ".join(f"(NEW.{c} IS NULL OR NEW.{c} IS OLD.{c})" for c in NULLABLE)
    return [
        f"CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON {TABLE} "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
        f"CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON {TABLE} "
        f"WHEN NOT ({unchanged} AND {nulled}) "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
    ]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP)
    elif vendor == "sqlite":
        model = apps.get_model("audit", "AuditEvent")
        columns = [field.column for field in model._meta.concrete_fields]
        for statement in _sqlite_up(columns):
            schema_editor.execute(statement)
    else:
        raise RuntimeError(f"no append-only trigger for database vendor {vendor!r}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DOWN)
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_no_update")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
