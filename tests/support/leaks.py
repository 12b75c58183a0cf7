"""Known test keys and the check that no answer, log or stored byte carries them.

Tests that create keys register them here (:func:`remember`); every response of the HTTPS
test client is scanned for every registered key in every encoding (upper and lower hex,
base64, raw bytes) unless the client was told it may carry keys (downloads do).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

_KEYS: set[bytes] = set()
_NEEDLES: list[tuple[bytes, bytes]] = []


def encodings(key: bytes) -> list[bytes]:
    """Every spelling of ``key`` a leak could take."""
    return [
        key,
        key.hex().encode(),
        key.hex().upper().encode(),
        base64.b64encode(key),
        base64.b64encode(key).rstrip(b"="),
        base64.urlsafe_b64encode(key).rstrip(b"="),
    ]


def remember(keys: Iterable[bytes]) -> None:
    """Register keys that must never leak."""
    for key in keys:
        if key not in _KEYS:
            _KEYS.add(key)
            _NEEDLES.extend((key, needle) for needle in encodings(key))


def found_in(data: bytes) -> list[bytes]:
    """The registered keys whose encodings occur in ``data``."""
    return sorted({key for key, needle in _NEEDLES if needle in data})


def known_keys() -> set[bytes]:
    """Every key registered so far in this session."""
    return set(_KEYS)
