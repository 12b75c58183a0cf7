"""Turn ``METERKMS_DATABASE_URL`` into a Django ``DATABASES`` entry.

Two schemes are supported: ``sqlite:///absolute/path.sqlite3`` (the embedded default) and
``postgresql://user:password@host:port/name?sslmode=...`` (production). SQLite runs in WAL
mode with ``synchronous=FULL`` so that an acknowledged write survives a power cut, and with
``BEGIN IMMEDIATE`` so that writers queue instead of failing on lock upgrades. PostgreSQL
connections start no parallel workers for a query (:data:`PG_SESSION_SETTINGS`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "PRAGMA foreign_keys=ON;"
    "PRAGMA busy_timeout=30000;"
)

#: Server settings of every PostgreSQL connection, after any ``options`` the URL gives (which
#: may override them). No parallel workers per query: the lists and look-ups read few rows
#: through indexes, and starting two workers cost 8 ms per query on a two-core server — a
#: "serial contains" page took 11 ms instead of 2.5 ms whenever the planner chose them.
#: Index builds keep their own setting (``max_parallel_maintenance_workers``).
PG_SESSION_SETTINGS = "-c max_parallel_workers_per_gather=0"


def sqlite_database(path: Path) -> dict[str, Any]:
    """The settings of an SQLite database file."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "init_command": SQLITE_PRAGMAS,
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
    }


def parse_database_url(url: str) -> dict[str, Any]:
    """The ``DATABASES["default"]`` entry for ``url``; raises on an unknown scheme."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = unquote(parts.path)
        if not path or path == "/":
            raise ImproperlyConfigured("METERKMS_DATABASE_URL: sqlite URL needs a file path")
        return sqlite_database(Path("/" + path.lstrip("/")))
    if scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("METERKMS_DATABASE_URL: PostgreSQL URL needs a name")
        options = dict(parse_qsl(parts.query))
        # libpq applies the settings in order: the URL's own come last and win.
        options["options"] = f"{PG_SESSION_SETTINGS} {options.get('options', '')}".strip()
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(
        f"METERKMS_DATABASE_URL: unsupported scheme {scheme!r} (use sqlite:// or postgresql://)"
    )
