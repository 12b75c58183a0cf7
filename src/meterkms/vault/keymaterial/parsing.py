"""Strict parsing of a key given as text, with exact lengths per algorithm.

Hex is the normal form: any case, an optional ``0x`` prefix, and spaces, tabs, ``-`` or ``:``
between bytes (``2B7E1516 28AED2A6…``, ``2b:7e:15:…``). A separator may not split a byte.
Base64 (standard alphabet, padding required) is accepted only where a format asks for it.

Error messages say what was expected and what was found (``expected 32 hex digits (16 bytes)
for AES128, got 40``) and never repeat the key; a caller prefixes the line and column.
"""

from __future__ import annotations

import base64
import binascii
import re
from enum import StrEnum

from meterkms.vault.algorithms import KEY_LENGTHS, Algorithm
from meterkms.vault.errors import KeyMaterialError


class KeyEncoding(StrEnum):
    """How a key is written in a text field."""

    HEX = "hex"
    BASE64 = "base64"


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_SEPARATORS = frozenset(" \t:-")
_GROUP_SPLIT = re.compile(r"[ \t:\-]+")


def _expected(algorithm: Algorithm, unit: str) -> str:
    lengths = KEY_LENGTHS[algorithm]
    if unit == "hex digits":
        counts = " or ".join(str(n * 2) for n in lengths)
        sizes = " or ".join(str(n) for n in lengths)
        return f"{counts} hex digits ({sizes} bytes) for {algorithm}"
    return f"{' or '.join(str(n) for n in lengths)} bytes for {algorithm}"


def parse_key(text: str, algorithm: Algorithm, *, encoding: KeyEncoding = KeyEncoding.HEX) -> bytes:
    """Parse ``text`` as a key of ``algorithm`` and return its bytes.

    Raises :class:`~meterkms.vault.errors.KeyMaterialError` for bad characters, a separator
    inside a byte, bad base64, or a length that ``KEY_LENGTHS`` does not allow.
    """
    if not isinstance(text, str):
        raise KeyMaterialError("a key must be given as text")
    if encoding is KeyEncoding.BASE64:
        return _parse_base64(text, algorithm)
    return _parse_hex(text, algorithm)


def _parse_hex(text: str, algorithm: Algorithm) -> bytes:
    stripped = text.strip()
    offset = len(text) - len(text.lstrip())
    if stripped[:2] in ("0x", "0X"):
        stripped = stripped[2:]
        offset += 2
    if not stripped:
        raise KeyMaterialError(f"the key is empty; expected {_expected(algorithm, 'hex digits')}")
    for index, char in enumerate(stripped):
        if char not in _HEX_DIGITS and char not in _SEPARATORS:
            # A character that is not a hex digit is not key material, so naming it is safe
            # and helps (an "O" typed for a "0"); anything unprintable is only located.
            shown = f" ({char!r})" if char.isprintable() and char.isascii() else ""
            raise KeyMaterialError(
                f"character {offset + index + 1}{shown} is not a hex digit; "
                f"expected {_expected(algorithm, 'hex digits')}"
            )
    groups = _GROUP_SPLIT.split(stripped)
    digits = "".join(groups)
    if len(digits) % 2 or len(digits) // 2 not in KEY_LENGTHS[algorithm]:
        raise KeyMaterialError(f"expected {_expected(algorithm, 'hex digits')}, got {len(digits)}")
    if not groups[0] or not groups[-1]:
        raise KeyMaterialError("the key starts or ends with a separator")
    if any(len(group) % 2 for group in groups):
        raise KeyMaterialError("a separator splits a byte: separators may only stand between bytes")
    return bytes.fromhex(digits)


def _parse_base64(text: str, algorithm: Algorithm) -> bytes:
    stripped = text.strip()
    if not stripped:
        raise KeyMaterialError(f"the key is empty; expected base64 of {_expected(algorithm, 'b')}")
    try:
        key = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError(
            f"the key is not valid base64 (standard alphabet with padding); "
            f"expected base64 of {_expected(algorithm, 'b')}"
        ) from None
    if len(key) not in KEY_LENGTHS[algorithm]:
        raise KeyMaterialError(
            f"expected base64 of {_expected(algorithm, 'b')}, got {len(key)} bytes"
        )
    return key


def format_key_hex(key: bytes) -> str:
    """The export form of a key: upper-case hex without separators."""
    return key.hex().upper()
