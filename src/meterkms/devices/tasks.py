"""Background tasks of the catalogue: check and commit uploaded imports.

Uploads wait as encrypted spool files; the tasks open them with the key the vault unseals,
act as the user who uploaded, and delete the spool file once the import is finished.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.tasks import task

from meterkms.accounts.models import User
from meterkms.core import context, tenancy
from meterkms.devices.importing.service import ImportOptions, Source, check_file, import_file
from meterkms.devices.models import ImportRun
from meterkms.vault.runtime import get_vault

SPOOL_SCOPE = "system:spool"


def spool_dir() -> Path:
    """Where encrypted uploads wait (inside the data directory, mode 0700)."""
    path = settings.DATA_DIR / "spool"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def seal_secret(run: ImportRun, slot: str, value: bytes) -> bytes:
    """Seal a spool key or a KEM password for ``run`` (bound to the run and its purpose)."""
    vault = get_vault()
    vault.prepare(SPOOL_SCOPE, 1)
    return vault.seal(value, scope=SPOOL_SCOPE, record=f"import:{run.pk}", slot=slot, version=1)


def _unseal(run: ImportRun, slot: str, blob: bytes | None) -> bytes | None:
    if blob is None:
        return None
    return get_vault().unseal(
        bytes(blob), scope=SPOOL_SCOPE, record=f"import:{run.pk}", slot=slot, version=1
    )


def source_of(run: ImportRun) -> Source:
    """The run's uploaded file, readable through its sealed spool key."""
    key = _unseal(run, "spool", run.spool_key_sealed)
    return Source(spool_dir() / run.spool_name, name=run.file_name, spool_key=key)


def options_of(run: ImportRun) -> ImportOptions:
    """The run's options, with the KEM password unsealed when there is one."""
    stored = run.options
    password = _unseal(run, "password", run.password_sealed)
    return ImportOptions(
        format=stored.get("format"),
        mapping=stored.get("mapping") or {},
        delimiter=stored.get("delimiter"),
        encoding=stored.get("encoding") or "utf-8",
        password=password.decode() if password else None,
        default_type_id=stored.get("default_type_id"),
        generate_missing=bool(stored.get("generate_missing")),
        update_existing=bool(stored.get("update_existing")),
        owner_id=stored.get("owner_id"),
    )


def drop_spool(run: ImportRun) -> None:
    """Delete the uploaded file and forget its sealed key."""
    if run.spool_name:
        with contextlib.suppress(FileNotFoundError):
            (spool_dir() / run.spool_name).unlink()
    ImportRun._base_manager.filter(pk=run.pk).update(
        spool_name="", spool_key_sealed=None, password_sealed=None
    )


def _progress_of(run: ImportRun) -> Any:
    def report(_what: str, rows: int) -> None:
        ImportRun._base_manager.filter(pk=run.pk).update(rows_done=rows)

    return report


def _as_user(run: ImportRun) -> User:
    with tenancy.crossing("a task acts for the user who started the import"):
        return User.objects.select_related("organisation").get(pk=run.created_by_id)


@task()
def check_import(run_id: int) -> None:
    """The dry run of an upload: every problem, counts and a preview."""
    run = ImportRun._base_manager.get(pk=run_id)
    user = _as_user(run)
    with context.channel("task"), tenancy.acting_as(user):
        check_file(
            run=run,
            actor=user,
            source=source_of(run),
            options=options_of(run),
            progress=_progress_of(run),
        )
        run.refresh_from_db()
        if run.state == ImportRun.State.FAILED:
            drop_spool(run)


@task()
def commit_import(run_id: int) -> None:
    """Write an upload that passed its dry run, all or nothing."""
    run = ImportRun._base_manager.get(pk=run_id)
    user = _as_user(run)
    with context.channel("task"), tenancy.acting_as(user):
        try:
            import_file(
                run=run,
                actor=user,
                source=source_of(run),
                options=options_of(run),
                progress=_progress_of(run),
            )
        finally:
            drop_spool(run)


def enqueue(task_function: Any, run: ImportRun) -> None:
    """Run the task after the current transaction commits."""
    transaction.on_commit(lambda: task_function.enqueue(run_id=run.pk))
