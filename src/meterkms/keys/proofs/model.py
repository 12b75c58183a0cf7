"""The vocabulary of key proofs: addresses, schemes, checks, verdicts and reports.

Everything here is safe to show, store and audit: addresses and check outcomes only. No
object of this module holds key material or decrypted payload; the one holding a key,
:class:`Candidate`, keeps it out of its ``repr`` so that it cannot leak into a log line.

Objects a batch builds once per telegram (addresses, reports, parsed telegrams) are named
tuples or plain slotted dataclasses rather than frozen dataclasses: a frozen dataclass
costs about six times as much to build, and a batch proof builds 100,000s of them. They
are still treated as immutable values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, Protocol

from meterkms.devices.enums import KeySlot, Technology


class Scheme(StrEnum):
    """How a telegram is protected, as far as a key proof is concerned."""

    MODE5 = "mode5"
    MODE7 = "mode7"
    ELL_CTR = "ell-ctr"
    DES_MODE2 = "des-mode2"
    JOIN_REQUEST = "join-request"
    JOIN_ACCEPT = "join-accept"
    NONE = "none"

    @property
    def label(self) -> str:
        """What a meter reader calls it."""
        return _SCHEME_LABELS[self]


_SCHEME_LABELS = {
    Scheme.MODE5: "TPL security mode 5 (AES-128-CBC)",
    Scheme.MODE7: "TPL security mode 7 (AES-128-CBC, CMAC key derivation, AFL MAC)",
    Scheme.ELL_CTR: "ELL AES-128-CTR",
    Scheme.DES_MODE2: "TPL security mode 2 (DES-CBC)",
    Scheme.JOIN_REQUEST: "LoRaWAN join request (MIC)",
    Scheme.JOIN_ACCEPT: "LoRaWAN join accept (MIC)",
    Scheme.NONE: "no check possible",
}


class CheckKind(StrEnum):
    """One kind of evidence that a key is the meter's key."""

    FILLER = "2F2F"  # decrypted payload starts with the 2F 2F idle filler
    MAC = "MAC"  # AFL CMAC of mode 7
    CRC = "CRC"  # ELL payload CRC-16 inside the encrypted part
    MIC = "MIC"  # LoRaWAN message integrity code

    @property
    def description(self) -> str:
        """One sentence for a meter reader."""
        return _CHECK_DESCRIPTIONS[self]


_CHECK_DESCRIPTIONS = {
    CheckKind.FILLER: "the decrypted data starts with the filler bytes 2F 2F (16-bit check)",
    CheckKind.MAC: "the message authentication code of the AFL layer matches",
    CheckKind.CRC: "the CRC-16 inside the encrypted ELL payload matches (16-bit check)",
    CheckKind.MIC: "the 4-byte LoRaWAN message integrity code matches (32-bit check)",
}


class Verdict(StrEnum):
    """The answer to "is this the right key?" for one telegram."""

    PROVEN = "proven"
    WRONG_KEY = "wrong-key"
    NO_DEVICE = "no-device"
    CANNOT_TELL = "cannot-tell"

    @property
    def label(self) -> str:
        """Short text for reports."""
        return _VERDICT_LABELS[self]


_VERDICT_LABELS = {
    Verdict.PROVEN: "key proven",
    Verdict.WRONG_KEY: "wrong key?",
    Verdict.NO_DEVICE: "no device with this address",
    Verdict.CANNOT_TELL: "cannot tell",
}


class AddressSource(StrEnum):
    """Which header an address (of the IV, of the key derivation) was taken from."""

    LINK = "link"  # link layer M + A (the radio part, possibly an external module)
    TPL = "tpl"  # long TPL header (CI 72): the meter itself


class DeviceAddress(NamedTuple):
    """What a device is looked up by: technology, manufacturer code and identifier.

    wM-Bus: manufacturer code (``AMT``) and the 8-digit meter address as printed on the
    meter (the ID bytes reversed). LoRaWAN: no manufacturer, the DevEUI as 16 hex digits,
    most significant byte first. Hashable, so it keys the bulk lookup.
    """

    technology: Technology
    manufacturer: str
    identifier: str

    def __str__(self) -> str:
        if self.technology is Technology.LORAWAN:
            return f"DevEUI {self.identifier}"
        return f"{self.manufacturer} {self.identifier}"


class MeterAddress(NamedTuple):
    """A full wM-Bus address field M + A: device address plus version and device type."""

    device: DeviceAddress
    version: int
    device_type: int
    raw: bytes  # M (2) + A (6) as sent; the first 8 bytes of the mode 5 IV

    def __str__(self) -> str:
        return f"{self.device} v{self.version:02X} t{self.device_type:02X}"


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check of one key against one telegram."""

    kind: CheckKind
    passed: bool

    def __str__(self) -> str:
        return f"{self.kind}={'ok' if self.passed else 'fail'}"


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """Result of checking one key against one telegram: the checks and whether they prove it.

    No checks means the key was not tried: ``reason`` says why. ``undecidable`` marks a
    telegram no key can be checked against (as opposed to a key unfit for the scheme).
    """

    checks: tuple[Check, ...]
    proven: bool
    reason: str = ""
    undecidable: bool = False


@dataclass(slots=True)
class Candidate:
    """A key that may belong to a device, with a reference the report can name.

    ``ref`` is whatever lets the caller find the key again (device id and slot, key version);
    it is shown in reports, the key is not (kept out of ``repr``). Not a tuple, so the key
    cannot come out by indexing, unpacking or ``_asdict``; not frozen, because a proof
    builds one per device looked up (treated as immutable all the same).
    """

    ref: str
    key: bytes = field(repr=False)
    slot: KeySlot | None = None


@dataclass(frozen=True, slots=True)
class LineError:
    """A line of the input that is not a usable telegram, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ParsedTelegram(Protocol):
    """What every parsed telegram (wM-Bus or LoRaWAN) offers to checks and reports."""

    line: int
    frame: bytes
    scheme: Scheme
    cannot_tell: str
    technology: Technology
    join_eui: str | None

    @property
    def link_address(self) -> MeterAddress | None:
        """wM-Bus link-layer address."""
        ...

    @property
    def tpl_address(self) -> MeterAddress | None:
        """wM-Bus long TPL header address."""
        ...

    @property
    def address(self) -> DeviceAddress | None:
        """The address to look the device up by first."""
        ...

    @property
    def lookup_addresses(self) -> tuple[DeviceAddress, ...]:
        """Every address a key may be stored under, most likely first."""
        ...

    @property
    def iv_source(self) -> AddressSource | None:
        """Which header's address fed the IV or key derivation."""
        ...


@dataclass(slots=True)
class TelegramReport:
    """The proof report of one telegram: what it is, which address, checks and verdict.

    ``checks`` are those of the proving candidate, or of the first candidate tried when
    none proved the key; ``key_ref`` names the proving candidate; ``found_under`` is the
    address the candidates were stored under. No key, no plaintext: the telegram it refers
    to is the captured (still encrypted) frame.
    """

    telegram: ParsedTelegram = field(repr=False)
    checks: tuple[Check, ...]
    verdict: Verdict
    reason: str
    key_ref: str | None = None
    candidates_tried: int = 0
    found_under: DeviceAddress | None = None

    @property
    def line(self) -> int:
        """Line of the input the telegram came from."""
        return self.telegram.line

    @property
    def technology(self) -> Technology:
        """wM-Bus or LoRaWAN."""
        return self.telegram.technology

    @property
    def scheme(self) -> Scheme:
        """The protection scheme detected."""
        return self.telegram.scheme

    @property
    def address(self) -> DeviceAddress | None:
        """The address the keys were found under, else the first lookup address."""
        return self.found_under or self.telegram.address

    @property
    def link_address(self) -> MeterAddress | None:
        """wM-Bus link-layer address (the radio part)."""
        return self.telegram.link_address

    @property
    def tpl_address(self) -> MeterAddress | None:
        """wM-Bus long TPL header address (the meter itself), when present."""
        return self.telegram.tpl_address

    @property
    def iv_source(self) -> AddressSource | None:
        """Which address fed the IV or the key derivation."""
        return self.telegram.iv_source

    @property
    def join_eui(self) -> str | None:
        """LoRaWAN JoinEUI (AppEUI), most significant byte first."""
        return self.telegram.join_eui


class FrameError(ValueError):
    """A frame cannot be read as a telegram; the message says why, for a meter reader."""
