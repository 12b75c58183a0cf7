"""Device key material: parsing from text, hygiene checks, generation and fingerprints.

* :func:`parse_key` turns user text into key bytes of an exact length per algorithm.
* :func:`hygiene_findings` / :func:`ensure_acceptable` judge the key's value.
* :func:`generate_key` draws a new key from the OS CSPRNG (DES with odd parity).
* :class:`KeyFingerprinter` detects one key used on several devices without revealing it.
"""

from meterkms.vault.keymaterial.fingerprint import KeyFingerprinter, key_fingerprint
from meterkms.vault.keymaterial.generation import generate_key, set_odd_parity
from meterkms.vault.keymaterial.hygiene import (
    FindingCode,
    KeyFinding,
    Severity,
    ensure_acceptable,
    hygiene_findings,
    odd_parity_errors,
)
from meterkms.vault.keymaterial.parsing import KeyEncoding, format_key_hex, parse_key

__all__ = [
    "FindingCode",
    "KeyEncoding",
    "KeyFinding",
    "KeyFingerprinter",
    "Severity",
    "ensure_acceptable",
    "format_key_hex",
    "generate_key",
    "hygiene_findings",
    "key_fingerprint",
    "odd_parity_errors",
    "parse_key",
    "set_odd_parity",
]
