"""Start-up checks: the server refuses to start (no port opens) while one fails."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from meterkms.vault.errors import VaultError
from meterkms.vault.providers import open_provider
from meterkms.vault.runtime import Status, master_key_status, provider_config


def problems() -> list[str]:
    """Everything that stops a safe start, each as a sentence naming the problem."""
    found: list[str] = []
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            found.append(
                f"the database schema is not up to date ({len(pending)} migrations pending): "
                "run `meterkms migrate`"
            )
    except Exception as exc:
        found.append(f"the database is not reachable: {exc.__class__.__name__}: {exc}")
    status = master_key_status() if not found else _key_only_status()
    if not status.ok:
        found.append(f"master key: {status.problem}")
    for label, value in (
        ("METERKMS_TLS_CERT_FILE", settings.TLS_CERT_FILE),
        ("METERKMS_TLS_KEY_FILE", settings.TLS_KEY_FILE),
    ):
        if value and not Path(value).is_file():
            found.append(f"{label} names {value}, which is not a readable file")
    if bool(settings.TLS_CERT_FILE) != bool(settings.TLS_KEY_FILE):
        found.append("set both METERKMS_TLS_CERT_FILE and METERKMS_TLS_KEY_FILE, or neither")
    return found


def _key_only_status() -> Status:
    """The master key's own problems when the database is not usable (no check blob yet)."""
    try:
        open_provider(provider_config()).close()
    except VaultError as exc:
        return Status(False, str(exc))
    return Status(True)
