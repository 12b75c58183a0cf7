"""Fixtures of the catalogue tests: import files and a helper that imports them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from meterkms.core import tenancy
from meterkms.devices.importing.service import (
    ImportOptions,
    Outcome,
    Source,
    check_file,
    import_file,
    start_import,
)
from meterkms.devices.models import DeviceType
from tests.support.leaks import remember

HEADER = "serial;device_type;dev_eui;join_eui;app_key\n"


def random_key() -> str:
    """A random AES-128 key as upper-case hex, registered as one that must never leak."""
    key = os.urandom(16)
    remember([key])
    return key.hex().upper()


def lora_csv(rows: int, *, prefix: str = "SN", start: int = 0) -> tuple[str, dict[str, str]]:
    """A CSV of TOPAS Lora W8 devices with random keys; returns the text and serial → key."""
    keys: dict[str, str] = {}
    lines = [HEADER]
    for index in range(start, start + rows):
        serial = f"{prefix}{index:07d}"
        keys[serial] = random_key()
        lines.append(
            f"{serial};TOPAS Lora W8;70B3D5E75E{index:06X};70B3D5E75E000000;{keys[serial]}\n"
        )
    return "".join(lines), keys


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``text`` to a file named ``name`` in a temporary directory."""

    def write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


def run_import(actor: Any, path: Path, *, dry_run: bool = False, **options: Any) -> Outcome:
    """Import (or only check) ``path`` as ``actor``, as the CLI does."""
    with tenancy.acting_as(actor):
        import_options = ImportOptions(**options)
        source = Source(path)
        run = start_import(actor=actor, source=source, options=import_options)
        action = check_file if dry_run else import_file
        return action(run=run, actor=actor, source=source, options=import_options)


def type_id(name: str) -> int:
    """The id of a shared device type."""
    return DeviceType._base_manager.get(name=name, organisation=None).pk
