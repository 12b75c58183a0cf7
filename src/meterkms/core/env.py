"""Typed readers for ``METERKMS_*`` environment variables.

Every knob of meterkms is an environment variable. These helpers read them strictly: a
boolean is ``true``/``false`` (or ``1``/``0``, ``yes``/``no``), an integer is an integer, and
a wrong value stops the start with a message naming the variable instead of being guessed.
Secrets can also come from a file named by ``<NAME>_FILE`` (container secrets).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

PREFIX = "METERKMS_"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _name(name: str) -> str:
    return name if name.startswith(PREFIX) else PREFIX + name


def env_str(name: str, default: str = "") -> str:
    """The variable's value with surrounding whitespace removed, or ``default``."""
    value = os.environ.get(_name(name))
    if value is None:
        return default
    return value.strip()


def env_bool(name: str, default: bool) -> bool:
    """A strict boolean: anything but the known spellings is a configuration error."""
    raw = os.environ.get(_name(name))
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{_name(name)} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """An integer, optionally with a lower bound."""
    raw = os.environ.get(_name(name))
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{_name(name)} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{_name(name)} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; empty items are dropped."""
    raw = os.environ.get(_name(name))
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    """A filesystem path, made absolute against the working directory."""
    raw = env_str(name)
    return Path(raw).expanduser().resolve() if raw else default


def env_secret(name: str, *, fallback_file: Path | None = None) -> str:
    """A secret from ``<NAME>``, else the file ``<NAME>_FILE``, else ``fallback_file``.

    Returns an empty string when none is set; the caller decides whether that is fatal.
    The file is read whole and stripped, so a trailing newline does not change the secret.
    """
    direct = os.environ.get(_name(name))
    if direct:
        return direct.strip()
    file_name = env_str(name + "_FILE")
    path = Path(file_name).expanduser() if file_name else fallback_file
    if path is None or (not file_name and not path.exists()):
        return ""
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"cannot read the secret file for {_name(name)} at {path}: {exc.strerror}"
        ) from None
