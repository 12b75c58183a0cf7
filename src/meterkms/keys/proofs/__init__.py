"""Proving a stored key against captured traffic, without revealing the key.

"Is this the right key?": captured wM-Bus telegrams or LoRaWAN join messages are parsed
(no key needed) into telegrams with the addresses to look their devices up by; candidate
keys are then checked against them, giving check outcomes and a verdict per telegram,
never key material or decrypted payload.

The seam for the proof service: :func:`parse_capture` → :func:`addresses_to_fetch` (one
bulk lookup of candidates) → :func:`prove_batch` → :func:`render_csv` / the summary; or
:func:`prove_capture` with a bulk-lookup function, chunk by chunk, for big captures.
"""

from .batch import (
    BatchReport,
    Fetch,
    addresses_to_fetch,
    group_by_address,
    prove,
    prove_batch,
    prove_capture,
    prove_many,
)
from .checks import check_key, check_key_many
from .frames import Telegram, parse_frame
from .lines import CaptureReader, ParsedInput, parse_capture, parse_capture_chunks
from .lorawan import LoRaWANMessage
from .model import (
    AddressSource,
    Candidate,
    Check,
    CheckKind,
    DeviceAddress,
    FrameError,
    KeyCheck,
    LineError,
    MeterAddress,
    Scheme,
    TelegramReport,
    Verdict,
)
from .summary import Summary, merge_summaries, render_csv, summarise
from .wmbus import WMBusTelegram

__all__ = [
    "AddressSource",
    "BatchReport",
    "Candidate",
    "CaptureReader",
    "Check",
    "CheckKind",
    "DeviceAddress",
    "Fetch",
    "FrameError",
    "KeyCheck",
    "LineError",
    "LoRaWANMessage",
    "MeterAddress",
    "ParsedInput",
    "Scheme",
    "Summary",
    "Telegram",
    "TelegramReport",
    "Verdict",
    "WMBusTelegram",
    "addresses_to_fetch",
    "check_key",
    "check_key_many",
    "group_by_address",
    "merge_summaries",
    "parse_capture",
    "parse_capture_chunks",
    "parse_frame",
    "prove",
    "prove_batch",
    "prove_capture",
    "prove_many",
    "render_csv",
    "summarise",
]
