"""Environment of ``meterkms bench``: its own database, so benchmarks never touch real data.

``--db sqlite`` (default) uses a fresh SQLite file in a temporary data directory;
``--db postgresql://…`` uses that server, with the database name suffixed ``_bench``
(created when missing).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit


def _option(argv: list[str], name: str, default: str) -> str:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def bench_database_url(db: str) -> str | None:
    """The database URL for the benchmark run, or None for the temporary SQLite file."""
    if db == "sqlite":
        return None
    parts = urlsplit(db)
    name = parts.path.lstrip("/") or "meterkms"
    if not name.endswith("_bench"):
        name += "_bench"
    return urlunsplit(parts._replace(path="/" + name))


def ensure_database(url: str) -> None:
    """Create the PostgreSQL benchmark database named by ``url`` when it does not exist."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare(argv: list[str]) -> None:
    """Set the METERKMS_* variables of the benchmark process before Django starts."""
    data_dir = tempfile.mkdtemp(prefix="meterkms-bench-")
    os.environ["METERKMS_DATA_DIR"] = data_dir
    os.environ.setdefault("METERKMS_SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("METERKMS_AUDIT_KEY", secrets.token_hex(32))
    os.environ["METERKMS_MASTER_KEY_FILE"] = os.path.join(data_dir, "master.key")
    os.environ["METERKMS_LOG_LEVEL"] = "WARNING"
    url = bench_database_url(_option(argv, "--db", "sqlite"))
    if url is None:
        os.environ.pop("METERKMS_DATABASE_URL", None)
    else:
        ensure_database(url)
        os.environ["METERKMS_DATABASE_URL"] = url
    from meterkms.cli.init import write_secret_file

    write_secret_file(Path(data_dir) / "master.key", secrets.token_bytes(32).hex())
