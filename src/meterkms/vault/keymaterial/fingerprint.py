"""Key fingerprints: detect the same key on two devices without revealing the key.

A fingerprint is HMAC-SHA256 under a secret the caller supplies (kept outside the database,
like the audit chain key), over a domain label and the key bytes. Without the secret a
fingerprint cannot be tested against guessed keys; with it, equal keys give equal
fingerprints, so a unique index or a GROUP BY finds shared keys.
"""

from __future__ import annotations

import hashlib
import hmac

from meterkms.vault.errors import KeyMaterialError

_LABEL = b"meterkms-key-fingerprint-v1\x00"
_MIN_SECRET_BYTES = 16


class KeyFingerprinter:
    """Computes fingerprints under one secret; cheap to call for many keys."""

    __slots__ = ("_mac",)

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) < _MIN_SECRET_BYTES:
            raise KeyMaterialError(
                f"the fingerprint secret must be at least {_MIN_SECRET_BYTES} bytes"
            )
        # Keying HMAC once and copying the state per key saves the key schedule per call.
        self._mac = hmac.new(secret, _LABEL, hashlib.sha256)

    def fingerprint(self, key: bytes) -> str:
        """64 lower-case hex digits identifying ``key`` under this fingerprinter's secret."""
        mac = self._mac.copy()
        mac.update(key)
        return mac.hexdigest()

    def __repr__(self) -> str:
        return "KeyFingerprinter(<secret>)"


def key_fingerprint(key: bytes, secret: bytes) -> str:
    """Fingerprint of one key; use :class:`KeyFingerprinter` for many."""
    return KeyFingerprinter(secret).fingerprint(key)
