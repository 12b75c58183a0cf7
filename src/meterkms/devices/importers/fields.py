"""Syntax checks and normalisation of single import fields.

Each function takes the stripped, non-empty cell text and returns the normalised value or
raises :class:`FieldError`. Messages say what was expected and never quote the cell: a
shifted column can put a key where a serial was expected, and key material must not reach an
error message (not even a fragment).
"""

from __future__ import annotations

import re

from meterkms.devices.enums import KeySlot
from meterkms.vault.algorithms import Algorithm


class FieldError(ValueError):
    """A cell does not have the syntax of its column; the message is safe to show."""


#: Leading characters that make spreadsheets evaluate a cell (ASVS 1.2.10, CSV injection).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\0")

SERIAL_MAX = 64
TEXT_MAX = 128
LABEL_MAX = 64
LABELS_MAX = 32

_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_LETTERS3 = re.compile(r"[A-Za-z]{3}")
_DIGITS8 = re.compile(r"[0-9]{8}")
_SEPARATORS = str.maketrans("", "", " -:\t")
# C0 and C1 control characters, and the lone surrogates that undecodable bytes become.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def serial(text: str) -> str:
    """A serial number: 1–64 letters, digits, ``.``, ``_``, ``-``, ``/``; starts alphanumeric.

    Letters and leading zeros are kept as they are; the serial is text, never a number.
    """
    if len(text) > SERIAL_MAX or not _SERIAL.fullmatch(text):
        raise FieldError(
            f"expected a serial number of 1 to {SERIAL_MAX} letters, digits, '.', '_', '-' "
            "or '/', starting with a letter or digit"
        )
    return text


def manufacturer(text: str) -> str:
    """A wM-Bus manufacturer code: three letters A–Z (any case; stored upper-case)."""
    if not _LETTERS3.fullmatch(text):
        raise FieldError("expected a manufacturer code of exactly 3 letters A-Z (e.g. AMT)")
    return text.upper()


def meter_address(text: str) -> str:
    """A wM-Bus meter or radio-module address (ID): exactly 8 decimal digits, kept as text."""
    if not _DIGITS8.fullmatch(text):
        raise FieldError("expected an address of exactly 8 digits (leading zeros included)")
    return text


def _strip_hex(text: str) -> str | None:
    """``text`` without a ``0x`` prefix and separators, or None if it is not hex then."""
    if _HEX.fullmatch(text):
        return text
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    text = text.translate(_SEPARATORS)
    return text if _HEX.fullmatch(text) else None


def _fixed_hex(text: str, digits: int, what: str) -> str:
    value = _strip_hex(text)
    if value is None or len(value) != digits:
        raise FieldError(f"expected {what} of {digits} hex digits")
    return value.upper()


def eui(text: str) -> str:
    """A LoRaWAN EUI (DevEUI, JoinEUI): 16 hex digits; ``-``, ``:``, spaces, ``0x`` allowed."""
    return _fixed_hex(text, 16, "an EUI")


def dev_addr(text: str) -> str:
    """A LoRaWAN DevAddr: 8 hex digits."""
    return _fixed_hex(text, 8, "a device address")


def key_hex(text: str) -> str:
    """A key as hex: digits only after dropping ``0x``, spaces, ``-`` and ``:``; even count.

    The length per algorithm is the vault's check, not this one.
    """
    value = _strip_hex(text)
    if value is None:
        raise FieldError(
            "a key may contain only hex digits 0-9 and A-F (spaces, '-', ':' and a leading "
            "0x are allowed)"
        )
    if len(value) % 2:
        raise FieldError(f"a key needs an even number of hex digits, got {len(value)}")
    return value.upper()


def check_value(text: str) -> str:
    """A key check value: 2 to 32 hex digits (usually 6)."""
    value = _strip_hex(text)
    if value is None or not 2 <= len(value) <= 32:
        raise FieldError("expected a key check value of hex digits (usually 6)")
    return value.upper()


def byte_value(text: str) -> int:
    """A byte written as 1–2 hex digits, optionally ``0x``-prefixed (version, medium)."""
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    if not 1 <= len(digits) <= 2 or not _HEX.fullmatch(digits):
        raise FieldError("expected a byte as 2 hex digits (e.g. 07 or 0x1B)")
    return int(digits, 16)


def byte_number(number: int) -> int:
    """A byte given as a JSON integer."""
    if not 0 <= number <= 255:
        raise FieldError("expected a number from 0 to 255")
    return number


_LORAWAN_VERSIONS = {"1.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.1"}


def lorawan_version(text: str) -> str:
    """A LoRaWAN MAC version: ``1.0.4``, ``MAC_V1_0_4`` (TTS), ``LORAWAN_1_0_4`` (ChirpStack)."""
    value = text.upper().replace(" ", "")
    for prefix in ("MAC_V", "LORAWAN_", "LORAWAN", "V"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    value = value.replace("_", ".")
    if value in ("1.0.0", "1.1.0"):
        value = value[:3]
    if value not in _LORAWAN_VERSIONS:
        raise FieldError("expected a LoRaWAN version: 1.0, 1.0.1 to 1.0.4, or 1.1")
    return value


def _squash(text: str) -> str:
    return text.lower().replace("-", "").replace("_", "").replace(" ", "")


_ALGORITHMS: dict[str, Algorithm] = {_squash(a.value): a for a in Algorithm}
_ALGORITHMS.update({"tdes": Algorithm.TDES, "tripledes": Algorithm.TDES, "desede": Algorithm.TDES})
_ALGORITHMS["aes"] = Algorithm.AES128


def algorithm(text: str) -> Algorithm:
    """An algorithm name: DES, 3DES (TDES), AES128, AES192, AES256 (``AES-128`` etc. too)."""
    found = _ALGORITHMS.get(_squash(text))
    if found is None:
        raise FieldError("expected an algorithm: DES, 3DES, AES128, AES192 or AES256")
    return found


_SLOTS: dict[str, KeySlot] = {}
for _slot in KeySlot:
    _SLOTS[_squash(_slot.value)] = _slot
_SLOTS.update({"wmbus": KeySlot.OMS, "omskey": KeySlot.OMS, "mbuskey": KeySlot.MBUS})


def slot(text: str) -> KeySlot:
    """A key slot by its name (``AppKey``, ``NwkKey``, ``OMS``, ``MBUS``, ``DES``, …)."""
    found = _SLOTS.get(_squash(text))
    if found is None:
        names = ", ".join(s.value for s in KeySlot)
        raise FieldError(f"expected a key slot: {names}")
    return found


def text_value(text: str, max_chars: int = TEXT_MAX) -> str:
    """Free text (device type name, label): no control characters, no formula start.

    A leading ``=``, ``+``, ``-`` or ``@`` would run as a formula when an export of this text
    is opened in a spreadsheet (B16); such text is refused here rather than stored.
    """
    if len(text) > max_chars:
        raise FieldError(f"text is longer than {max_chars} characters")
    if _CONTROL.search(text):
        raise FieldError("text contains control characters")
    if text[0] in FORMULA_TRIGGERS:
        raise FieldError(
            "text starts with '=', '+', '-' or '@', which spreadsheets run as a formula; "
            "remove that character"
        )
    return text


def labels(text: str) -> tuple[str, ...]:
    """Comma-separated labels; each one free text of at most 64 characters."""
    parts = [part.strip() for part in text.split(",")]
    found = tuple(dict.fromkeys(text_value(part, LABEL_MAX) for part in parts if part))
    if len(found) > LABELS_MAX:
        raise FieldError(f"more than {LABELS_MAX} labels")
    return found
