"""Hygiene checks of a key's value: blank, patterned, published or DES-weak keys.

LoRa Alliance TR007 §3.4.3.1 forbids root keys that are all 0s or all 1s or follow a pattern,
and devices have shipped with specification sample keys. :func:`hygiene_findings` lists what
is wrong with a key; each finding carries a recommended severity:

* ``REJECT``: blank (all 00 / all FF / one repeated byte), a short repeating or arithmetic
  pattern, a published example or default key, a DES weak or semi-weak key, a 3DES key whose
  parts collapse to single DES. Such a key protects nothing.
* ``WARN``: wrong DES parity (DES ignores parity bits; many real keys ignore parity), or a key
  whose bytes are all printable ASCII (likely a typed password; a random 16-byte key is all
  printable with probability about 1e-7, so this cannot be a rejection).

:func:`ensure_acceptable` applies the recommendation: it raises for ``REJECT`` findings and
returns the warnings. Messages never contain the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from meterkms.vault.algorithms import Algorithm
from meterkms.vault.errors import KeyMaterialError
from meterkms.vault.keymaterial.known_keys import (
    DES_SEMI_WEAK_KEYS,
    DES_WEAK_KEYS,
    known_example,
    strip_des_parity,
)


class Severity(StrEnum):
    """What a finding recommends."""

    REJECT = "reject"
    WARN = "warn"


class FindingCode(StrEnum):
    """Kinds of hygiene findings (stable names for reports and tests)."""

    ALL_ZERO = "all_zero"
    ALL_FF = "all_ff"
    REPEATED_BYTE = "repeated_byte"
    PATTERN = "pattern"
    KNOWN_EXAMPLE = "known_example"
    DES_WEAK = "des_weak"
    DES_SEMI_WEAK = "des_semi_weak"
    TDES_DEGENERATE = "tdes_degenerate"
    DES_PARITY = "des_parity"
    ASCII_TEXT = "ascii_text"


@dataclass(frozen=True, slots=True)
class KeyFinding:
    """One problem of a key's value, with its recommended severity and a safe message."""

    code: FindingCode
    severity: Severity
    message: str


_DES_FAMILY = (Algorithm.DES, Algorithm.TDES)


def odd_parity_errors(key: bytes) -> list[int]:
    """Positions (0-based) of the bytes of a DES/3DES key that do not have odd parity."""
    return [index for index, byte in enumerate(key) if byte.bit_count() % 2 == 0]


def _has_short_period(values: bytes) -> bool:
    """True when ``values`` repeats a block of at most a quarter of its length."""
    length = len(values)
    for period in range(1, length // 4 + 1):
        if values == (values[:period] * (length // period + 1))[:length]:
            return True
    return False


def _is_arithmetic(values: bytes) -> bool:
    """True when successive bytes differ by one constant (``00 01 02…``, ``0F 0E 0D…``)."""
    step = (values[1] - values[0]) % 256
    if len(values) > 2 and (values[2] - values[1]) % 256 != step:
        return False  # the common case, decided without a loop
    return all((values[i + 1] - values[i]) % 256 == step for i in range(len(values) - 1))


def _blank_findings(key: bytes) -> list[KeyFinding]:
    if key.count(0) == len(key):
        return [KeyFinding(FindingCode.ALL_ZERO, Severity.REJECT, "the key is all zeros")]
    if key.count(0xFF) == len(key):
        return [KeyFinding(FindingCode.ALL_FF, Severity.REJECT, "the key is all FF bytes")]
    if key.count(key[0]) == len(key):
        return [
            KeyFinding(
                FindingCode.REPEATED_BYTE, Severity.REJECT, "the key repeats a single byte value"
            )
        ]
    return []


def _des_findings(key: bytes, algorithm: Algorithm) -> list[KeyFinding]:
    findings: list[KeyFinding] = []
    parts = [strip_des_parity(key[i : i + 8]) for i in range(0, len(key), 8)]
    for number, part in enumerate(parts, start=1):
        where = "the key" if len(parts) == 1 else f"part {number} of the key"
        if part in DES_WEAK_KEYS:
            findings.append(
                KeyFinding(FindingCode.DES_WEAK, Severity.REJECT, f"{where} is a DES weak key")
            )
        elif part in DES_SEMI_WEAK_KEYS:
            findings.append(
                KeyFinding(
                    FindingCode.DES_SEMI_WEAK, Severity.REJECT, f"{where} is a DES semi-weak key"
                )
            )
    if algorithm is Algorithm.TDES and (
        parts[0] == parts[1] or (len(parts) == 3 and parts[1] == parts[2])
    ):
        findings.append(
            KeyFinding(
                FindingCode.TDES_DEGENERATE,
                Severity.REJECT,
                "two adjacent parts of the 3DES key are equal, so it works as single DES",
            )
        )
    bad = odd_parity_errors(key)
    if bad:
        findings.append(
            KeyFinding(
                FindingCode.DES_PARITY,
                Severity.WARN,
                f"{len(bad)} of {len(key)} bytes do not have odd DES parity "
                f"(first at byte {bad[0] + 1})",
            )
        )
    return findings


def hygiene_findings(key: bytes, algorithm: Algorithm) -> list[KeyFinding]:
    """Everything wrong with the value of ``key`` used as ``algorithm``; empty when fine."""
    if not key:
        return [KeyFinding(FindingCode.ALL_ZERO, Severity.REJECT, "the key is empty")]
    des = algorithm in _DES_FAMILY
    findings = _blank_findings(key)
    # DES ignores parity bits, so patterns are judged on the 56 bits that count.
    compared = strip_des_parity(key) if des else key
    # A block repeating with period p <= len/4 has at most p distinct byte values.
    periodic = len(set(compared)) <= len(compared) // 4 and _has_short_period(compared)
    if (
        not findings
        and len(key) >= 8
        and (periodic or _is_arithmetic(key) or _is_arithmetic(compared))
    ):
        findings.append(
            KeyFinding(
                FindingCode.PATTERN, Severity.REJECT, "the key follows a simple repeating pattern"
            )
        )
    source = known_example(key, des=des)
    if source is not None:
        findings.append(
            KeyFinding(
                FindingCode.KNOWN_EXAMPLE,
                Severity.REJECT,
                f"the key is a published example key ({source})",
            )
        )
    if des:
        findings.extend(_des_findings(key, algorithm))
    if all(0x20 <= byte < 0x7F for byte in key):
        findings.append(
            KeyFinding(
                FindingCode.ASCII_TEXT,
                Severity.WARN,
                "every byte of the key is printable text: it may be a typed password",
            )
        )
    return findings


def ensure_acceptable(key: bytes, algorithm: Algorithm) -> list[KeyFinding]:
    """Raise :class:`KeyMaterialError` for rejecting findings; return the warnings."""
    findings = hygiene_findings(key, algorithm)
    rejected = [f.message for f in findings if f.severity is Severity.REJECT]
    if rejected:
        raise KeyMaterialError("; ".join(rejected))
    return [f for f in findings if f.severity is Severity.WARN]
