"""Is the configured master key usable? Used by /healthz and the start-up checks."""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class Status:
    """Outcome of a master-key check; ``problem`` names what is wrong, never the key."""

    ok: bool
    problem: str = ""


_KNOWN_DEFAULTS = {b"thirty_two_byte_keyblahblahblahh"}
_cache: tuple[float, Status] | None = None


def _decode(text: str) -> bytes | None:
    text = "".join(text.split())
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def check_local_key(config: dict[str, str]) -> Status:
    """Load and judge the local master key (file or value) without keeping it."""
    text = config.get("key_value", "")
    if not text:
        path = Path(config["key_file"])
        if not path.exists():
            return Status(False, f"the master key file {path} does not exist")
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            return Status(False, f"the master key file {path} cannot be read: {exc}")
    key = _decode(text)
    if key is None:
        return Status(False, "the master key is neither hex nor base64")
    if len(key) != 32:
        return Status(False, f"the master key has {len(key)} bytes; 32 are required")
    if len(set(key)) == 1:
        return Status(False, "the master key repeats one byte (e.g. all zero)")
    if key in _KNOWN_DEFAULTS:
        return Status(False, "the master key is a published default key")
    return Status(True)


def master_key_status(max_age: float = 5.0) -> Status:
    """The master key's status, re-checked at most every ``max_age`` seconds."""
    global _cache
    now = time.monotonic()
    if _cache is not None and now - _cache[0] < max_age:
        return _cache[1]
    config = settings.METERKMS_VAULT
    if config["provider"] == "local":
        status = check_local_key(config)
    else:
        status = Status(False, f"unknown master key provider {config['provider']!r}")
    _cache = (now, status)
    return status
