"""What every import parser yields: device records and problems, both plain dataclasses.

A parser checks syntax only (hex digits, EUI and address shapes, serial characters). Whether a
key has the exact length of its algorithm, good DES parity or is a known weak key is decided by
the vault (`meterkms.vault.keymaterial`) and the import service, which see the whole record.

Invariant: nothing in this module ever renders key material. ``KeyText`` hides its digits from
``repr``, and problems carry only line, column name and a fixed message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from meterkms.devices.enums import KeySlot
from meterkms.vault.algorithms import Algorithm


@dataclass(slots=True, repr=False)
class KeyText:
    """One key as read from a file: normalised upper-case hex, optional algorithm and KCV.

    ``hex`` has an even number of digits and nothing but ``0-9A-F``; its length is not checked
    here. ``check_value`` is the key check value the file claimed, if it had one, so that the
    import service can compare it with the one the vault computes.
    """

    hex: str
    algorithm: Algorithm | None = None
    check_value: str | None = None

    @property
    def value(self) -> bytes:
        """The key bytes."""
        return bytes.fromhex(self.hex)

    def __repr__(self) -> str:
        # Never the digits: a record may end up in a log line or a test failure message.
        return (
            f"KeyText(<{len(self.hex) // 2} bytes>, algorithm={self.algorithm!s}, "
            f"check_value={self.check_value!r})"
        )


@dataclass(slots=True)
class DeviceRecord:
    """One device with its keys, as parsed from one row (or several rows of one device).

    ``line`` is the 1-based line (CSV, text), row (XLSX) or starting line (JSON, XML) where the
    device was found. Identifiers are normalised: EUIs and addresses upper-case hex, the
    manufacturer code upper-case, the LoRaWAN version as ``1.0``, ``1.0.1`` … ``1.0.4`` or
    ``1.1``. ``serial`` is None only for key lists that carry no serial (``KEY`` lines).
    """

    line: int
    serial: str | None
    device_type: str | None = None
    manufacturer: str | None = None
    meter_address: str | None = None
    version: int | None = None
    medium: int | None = None
    radio_address: str | None = None
    dev_eui: str | None = None
    join_eui: str | None = None
    dev_addr: str | None = None
    lorawan_version: str | None = None
    labels: tuple[str, ...] = ()
    keys: dict[KeySlot, KeyText] = field(default_factory=dict)


#: The device attributes a record carries besides its line, serial and keys, in column order.
DEVICE_ATTRIBUTES: tuple[str, ...] = (
    "device_type",
    "manufacturer",
    "meter_address",
    "version",
    "medium",
    "radio_address",
    "dev_eui",
    "join_eui",
    "dev_addr",
    "lorawan_version",
    "labels",
)


class Severity(StrEnum):
    """How bad a problem is.

    ``ERROR`` rejects the row (and with it the all-or-nothing import); ``FATAL`` also stopped
    the parser, so later rows were not read; ``WARNING`` is for the preview only (an ignored
    column) and does not block the import.
    """

    WARNING = "warning"
    ERROR = "error"
    FATAL = "fatal"


@dataclass(frozen=True, slots=True)
class RecordError:
    """A problem found in the file, at a line and (where known) a column or field.

    ``line`` is 0 for problems of the whole file (encoding, size, a missing column).
    ``field`` is the column name as the file spells it when it is a known name, otherwise the
    canonical field name or ``column N``. The message never quotes cell contents.
    """

    line: int
    field: str | None
    message: str
    severity: Severity = Severity.ERROR

    @property
    def blocking(self) -> bool:
        """True unless this is only a warning."""
        return self.severity is not Severity.WARNING

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        if self.field:
            label = self.field if self.field.startswith("column ") else f"column {self.field}"
            where += f", {label}"
        return f"{where}: {self.message}"


#: What a parser yields, in file order.
ParsedItem = DeviceRecord | RecordError


#: Problems of one kind an import keeps to show; all of them are counted.
MAX_KEPT_PROBLEMS = 1000


def keep(problems: list[RecordError], problem: RecordError) -> None:
    """Keep ``problem`` while fewer than :data:`MAX_KEPT_PROBLEMS` are kept.

    A file of millions of rows may have a problem in each; memory stays bounded, and the
    caller counts them all.
    """
    if len(problems) < MAX_KEPT_PROBLEMS:
        problems.append(problem)
