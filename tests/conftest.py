"""Test set-up: environment before Django loads, the database tier, personas, clients.

The suite runs on SQLite by default and on PostgreSQL with ``METERKMS_TEST_DB=postgres``
(URL from ``METERKMS_TEST_DATABASE_URL``, default ``postgresql://postgres@127.0.0.1:5432/
meterkms``). Each checkout gets its own test database name, so two checkouts can run their
suites at the same time.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from pathlib import Path

# --- environment, before the settings are imported ---------------------------------------------
ROOT = Path(__file__).resolve().parent.parent
_DATA_DIR = tempfile.mkdtemp(prefix="meterkms-test-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meterkms.settings")
os.environ["METERKMS_DATA_DIR"] = _DATA_DIR
os.environ.setdefault("METERKMS_SECRET_KEY", secrets.token_urlsafe(48))
os.environ.setdefault("METERKMS_AUDIT_KEY", secrets.token_hex(32))
os.environ["METERKMS_MASTER_KEY_FILE"] = os.path.join(_DATA_DIR, "master.key")
os.environ["METERKMS_TASK_BACKEND"] = "django.tasks.backends.immediate.ImmediateBackend"
os.environ["METERKMS_LANGUAGE"] = "en"
os.environ.setdefault("METERKMS_LOG_LEVEL", "WARNING")
os.environ["METERKMS_DEK_LEASE_SECONDS"] = "2"
os.environ.pop("METERKMS_DATABASE_URL", None)
os.environ.pop("METERKMS_SMTP_HOST", None)

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/meterkms"
TEST_DB = os.environ.get("METERKMS_TEST_DB", "sqlite").lower()
if TEST_DB in {"postgres", "postgresql", "pg"}:
    os.environ["METERKMS_DATABASE_URL"] = os.environ.get(
        "METERKMS_TEST_DATABASE_URL", DEFAULT_PG_URL
    )

from meterkms.cli.init import write_secret_file  # noqa: E402

write_secret_file(Path(_DATA_DIR) / "master.key", secrets.token_bytes(32).hex())

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.INSTALLED_APPS  # noqa: B018 - load the settings now, with the environment above
# Fast hashing for the many users tests create; tests/accounts checks the real hasher.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
django.setup()

import pytest  # noqa: E402
from django.core import signals  # noqa: E402
from django.db import close_old_connections  # noqa: E402

from tests.support.clients import HttpsClient  # noqa: E402

pytest_plugins = ["tests.support.personas"]


def _flush_past_the_audit_triggers() -> None:
    """Let transactional tests on SQLite empty the audit table between tests.

    The append-only triggers refuse DELETE; PostgreSQL's flush uses TRUNCATE, which they do
    not see, but SQLite's flush deletes row by row. Test-only: drop the triggers for the
    flush and create them again right after.
    """
    import importlib

    from django.db.backends.sqlite3.operations import DatabaseOperations

    from meterkms.audit.models import AuditEvent

    migration = importlib.import_module("meterkms.audit.migrations.0002_append_only")
    table = AuditEvent._meta.db_table
    columns = [field.column for field in AuditEvent._meta.concrete_fields]
    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):  # type: ignore[no-untyped-def]
        statements = original(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if table not in tables:
            return statements
        drop = [
            f"DROP TRIGGER IF EXISTS {name};"
            for name in ("audit_event_no_delete", "audit_event_no_update")
        ]
        return drop + statements + migration._sqlite_up(columns)

    DatabaseOperations.sql_flush = sql_flush


if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    _flush_past_the_audit_triggers()


def _checkout_suffix() -> str:
    return hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]


@pytest.fixture(scope="session")
def django_db_modify_db_settings() -> None:
    """One test database per checkout (and per xdist worker), so suites never collide."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        # A file, not memory: concurrency tests open several connections and processes.
        database.setdefault("TEST", {})["NAME"] = os.path.join(_DATA_DIR, "test.sqlite3")
    if database["ENGINE"].endswith("postgresql"):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        database.setdefault("TEST", {})["NAME"] = (
            f"test_meterkms_{_checkout_suffix()}{('_' + worker) if worker else ''}"
        )


@pytest.fixture(autouse=True)
def _keep_connection_for_wsgi_calls() -> object:
    """Stack-notes trap 6: WSGI calls outside Django's test client close the connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def client() -> HttpsClient:
    """An anonymous HTTPS test client."""
    return HttpsClient()


@pytest.fixture(autouse=True)
def _fresh_vault() -> object:
    """Each test's database starts empty: the process's vault must forget its data keys."""
    from meterkms.vault.runtime import reset_vault

    yield
    reset_vault()


@pytest.fixture
def data_dir() -> Path:
    """The data directory of this test session."""
    return Path(_DATA_DIR)


@pytest.fixture(autouse=True)
def _label_links_follow_their_devices(request: pytest.FixtureRequest) -> object:
    """After every database test: no label link's copies differ from its device.

    The links' serial, owner and offer decide what a label-filtered list shows and counts
    (``DeviceLabel``); a write that moved devices without ``sync_label_links`` shows here.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        yield
        return
    transactional = marker.kwargs.get("transaction", False)
    # Requested here, so the database is still there when this fixture checks it.
    request.getfixturevalue("transactional_db" if transactional else "db")
    yield
    from meterkms.devices.labels import stale_links

    assert not stale_links(), "label links whose copies differ from their devices"
