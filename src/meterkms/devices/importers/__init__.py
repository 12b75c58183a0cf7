"""Import parsers for device and key files: streaming, syntax-checked, never crashing.

Use :func:`parse` (format by name or sniffed) or one parser directly; each yields
:class:`DeviceRecord` and :class:`RecordError` items in file order. Key validation beyond
syntax (exact length, parity, weak keys) is the vault's and the import service's.
"""

from meterkms.devices.importers.base import DEFAULT_OPTIONS, ParseOptions
from meterkms.devices.importers.delimited import parse_csv, parse_tts_csv
from meterkms.devices.importers.dispatch import PARSERS, parse, sniff_format
from meterkms.devices.importers.json_format import parse_json, parse_tts_json
from meterkms.devices.importers.kem import parse_kem
from meterkms.devices.importers.keylists import parse_key_list, parse_wmbusmeters
from meterkms.devices.importers.limits import DEFAULT_LIMITS, ImportLimits
from meterkms.devices.importers.records import (
    DeviceRecord,
    KeyText,
    ParsedItem,
    RecordError,
    Severity,
)
from meterkms.devices.importers.xlsx_format import parse_xlsx

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_OPTIONS",
    "PARSERS",
    "DeviceRecord",
    "ImportLimits",
    "KeyText",
    "ParseOptions",
    "ParsedItem",
    "RecordError",
    "Severity",
    "parse",
    "parse_csv",
    "parse_json",
    "parse_kem",
    "parse_key_list",
    "parse_tts_csv",
    "parse_tts_json",
    "parse_wmbusmeters",
    "parse_xlsx",
    "sniff_format",
]
