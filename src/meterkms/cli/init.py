"""``meterkms init``: the data directory and the secret files of the embedded default.

Runs before Django is configured, because the settings need these secrets. Existing files
are never overwritten; each new file is written atomically with mode 0600.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from meterkms.core.env import env_path, env_secret, env_str


def write_secret_file(path: Path, content: str) -> bool:
    """Create ``path`` with ``content`` and mode 0600 unless it exists; True if created."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(content + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return True


def main(argv: list[str]) -> int:
    """Create what is missing and say what was done."""
    parser = argparse.ArgumentParser(prog="meterkms init", description=__doc__)
    parser.parse_args(argv)
    data_dir = env_path("DATA_DIR", Path.cwd() / "data")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    wanted: list[tuple[str, Path, str]] = []
    if not env_secret("SECRET_KEY") and not env_str("SECRET_KEY_FILE"):
        wanted.append(("secret key", data_dir / "secret.key", secrets.token_urlsafe(48)))
    if not env_secret("AUDIT_KEY") and not env_str("AUDIT_KEY_FILE"):
        wanted.append(("audit key", data_dir / "audit.key", secrets.token_hex(32)))
    if env_str("MASTER_KEY_PROVIDER", "local") == "local" and not env_secret("MASTER_KEY"):
        key_file = env_path("MASTER_KEY_FILE", data_dir / "master.key")
        wanted.append(("master key", key_file, secrets.token_bytes(32).hex()))
    for label, path, content in wanted:
        created = write_secret_file(path, content)
        print(f"{'created' if created else 'kept   '} {label}: {path}")
    print(f"data directory: {data_dir}")
    return 0
