"""Generation of new device keys from the operating system's CSPRNG.

DES and 3DES keys get correct odd parity; a freshly drawn key that the hygiene checks would
reject (a DES weak key, say) is drawn again, so a generated key always passes
:func:`~meterkms.vault.keymaterial.hygiene.ensure_acceptable`.
"""

from __future__ import annotations

import os

from meterkms.vault.algorithms import KEY_LENGTHS, Algorithm
from meterkms.vault.errors import KeyMaterialError
from meterkms.vault.keymaterial.hygiene import Severity, hygiene_findings

#: Byte value with bit 0 set so that the byte has an odd number of one bits, per byte value.
_ODD_PARITY = bytes(
    (value & 0xFE) | (0 if (value & 0xFE).bit_count() % 2 else 1) for value in range(256)
)


def set_odd_parity(key: bytes) -> bytes:
    """``key`` with the parity bit (bit 0) of every byte set for odd parity, as DES expects."""
    return key.translate(_ODD_PARITY)


def generate_key(algorithm: Algorithm, length: int | None = None) -> bytes:
    """A new random key for ``algorithm``.

    ``length`` in bytes must be one of ``KEY_LENGTHS[algorithm]``; by default the longest
    (3-key 3DES for ``3DES``).
    """
    lengths = KEY_LENGTHS[algorithm]
    size = max(lengths) if length is None else length
    if size not in lengths:
        allowed = " or ".join(str(n) for n in lengths)
        raise KeyMaterialError(f"{algorithm} keys are {allowed} bytes long, not {size}")
    while True:
        key = os.urandom(size)
        if algorithm in (Algorithm.DES, Algorithm.TDES):
            key = set_odd_parity(key)
        # Printable-text warnings are chance on random bytes; only rejections force a redraw.
        if not any(f.severity is Severity.REJECT for f in hygiene_findings(key, algorithm)):
            return key
