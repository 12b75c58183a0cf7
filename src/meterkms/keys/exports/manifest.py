"""The manifest every export file carries: what is inside, who made it, how to check it.

JSON (UTF-8) with a fixed field order and layout, so the same export always gives the same
bytes and a reader can insist on the canonical form (an edited manifest is a damaged file).
It lists the payload's size and SHA-256, and one key check value per device key, so the
recipient can verify the file and compare keys without revealing them::

    {
      "manifest_version": 1,
      "format": "tts-csv",
      "protection": "password",
      "created_at": "2026-11-27T10:15:00Z",
      "download_id": "3f0c…",
      "exporter": {"name": "…", "email": "…", "organisation": "…"},
      "payload": {"name": "keys.csv", "media_type": "text/csv", "size": 1234, "sha256": "…"},
      "device_count": 2,
      "key_count": 2,
      "key_check_value": "<how the KCVs are computed>",
      "key_check_values": [
        {"device": "61070071", "slot": "OMS", "algorithm": "AES128", "kcv": "1A2B3C"},
        {"device": "61070072", "slot": "OMS", "algorithm": "AES128", "kcv": "4D5E6F"}
      ]
    }
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from meterkms.keys.exports.keychecks import (
    KeyCheck,
    KeyCheckList,
    ManifestError,
    check_match,
    check_text,
)
from meterkms.vault.containers.jsonlist import (
    iter_json_with_list,
    read_json_with_list,
    same_bytes,
)

# KeyCheck and ManifestError live in keychecks; importers keep finding them here.
__all__ = [
    "KCV_METHOD", "MANIFEST_VERSION", "ExportDescription", "Exporter", "KeyCheck",
    "KeyCheckList", "Manifest", "ManifestError", "PayloadInfo",
]  # fmt: skip

MANIFEST_VERSION = 1
KCV_METHOD = (
    "first 3 bytes of the key encrypting one zero block in ECB mode "
    "(AES: 16 bytes, DES and 3DES: 8 bytes), upper-case hex"
)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_FORMAT = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MEDIA_TYPE = re.compile(r"[a-z]+/[A-Za-z0-9.+-]+(; ?[a-z-]+=[A-Za-z0-9.-]+)?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TOP_FIELDS = (
    "manifest_version", "format", "protection", "created_at", "download_id", "exporter",
    "payload", "device_count", "key_count", "key_check_value", "key_check_values",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Exporter:
    """Who made the export (copied, so the manifest stays meaningful after account changes)."""

    name: str
    email: str
    organisation: str

    def __post_init__(self) -> None:
        for field in ("name", "email", "organisation"):
            check_text(getattr(self, field), f"exporter.{field}")


@dataclass(frozen=True, slots=True)
class PayloadInfo:
    """The payload file inside the export: its name, type, size and SHA-256."""

    name: str
    media_type: str
    size: int
    sha256: str

    def __post_init__(self) -> None:
        check_match(_FILE_NAME, self.name, "payload.name", "a plain file name like keys.csv")
        check_match(
            _MEDIA_TYPE, self.media_type, "payload.media_type", "a media type like text/csv"
        )
        if type(self.size) is not int or self.size < 0:
            raise ManifestError(f"payload.size: expected a byte count, got {self.size!r}")
        check_match(_SHA256, self.sha256, "payload.sha256", "64 lower-case hex digits")


@dataclass(frozen=True)
class Manifest:
    """The manifest of one export; construction validates every field."""

    format: str
    protection: str
    created_at: datetime
    download_id: str
    exporter: Exporter
    payload: PayloadInfo
    key_checks: Sequence[KeyCheck]

    def __post_init__(self) -> None:
        check_match(_FORMAT, self.format, "format", "a format name like tts-csv")
        check_match(_FORMAT, self.protection, "protection", "a protection name like password")
        check_text(self.download_id, "download_id", max_length=100, empty=False)
        if self.created_at.tzinfo is None:
            raise ManifestError("created_at: needs a time zone (UTC is written)")
        moment = self.created_at.astimezone(UTC).replace(microsecond=0)
        object.__setattr__(self, "created_at", moment)
        if not isinstance(self.key_checks, KeyCheckList):
            # Packed, checked for repeats and counted as they go (KeyCheckList).
            object.__setattr__(self, "key_checks", KeyCheckList(self.key_checks))

    @property
    def device_count(self) -> int:
        """Number of distinct devices with at least one key in the export."""
        return self.key_checks.device_count  # type: ignore[attr-defined]

    @property
    def key_count(self) -> int:
        """Number of device keys (device and slot pairs) in the export."""
        return len(self.key_checks)

    def iter_json(self) -> Iterator[bytes]:
        """The canonical JSON in pieces (one line per key check value)."""
        head: dict[str, Any] = {
            "manifest_version": MANIFEST_VERSION,
            "format": self.format,
            "protection": self.protection,
            "created_at": self.created_at.strftime(_TIME_FORMAT),
            "download_id": self.download_id,
            "exporter": {
                "name": self.exporter.name,
                "email": self.exporter.email,
                "organisation": self.exporter.organisation,
            },
            "payload": {
                "name": self.payload.name,
                "media_type": self.payload.media_type,
                "size": self.payload.size,
                "sha256": self.payload.sha256,
            },
            "device_count": self.device_count,
            "key_count": self.key_count,
            "key_check_value": KCV_METHOD,
        }
        entries = self.key_checks.json_texts()  # type: ignore[attr-defined]
        return iter_json_with_list(head, "key_check_values", entries, encoded=True)

    def to_json(self) -> bytes:
        """The canonical JSON bytes."""
        return b"".join(self.iter_json())

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse and validate a manifest; refuse anything not in canonical form."""
        manifest = _parse(data)
        if not same_bytes(manifest.iter_json(), data):
            raise ManifestError("the manifest is not in its canonical form: it was edited")
        return manifest

    def verify(
        self, *, protection: str, size: int, sha256: str, payload_name: str | None
    ) -> Manifest:
        """Return self if it describes what was found in the file, else raise ManifestError."""
        if self.protection != protection:
            raise ManifestError(f"it says {self.protection!r}, the file is {protection!r}")
        if payload_name is not None and payload_name != self.payload.name:
            raise ManifestError(f"the payload is {payload_name!r}, not {self.payload.name!r}")
        if size != self.payload.size:
            raise ManifestError(f"the payload has {size} bytes, not {self.payload.size}")
        if sha256 != self.payload.sha256:
            raise ManifestError("the payload's SHA-256 differs")
        return self


@dataclass(frozen=True)
class ExportDescription:
    """What the manifest of an export says apart from what is measured while writing it."""

    format: str
    payload_name: str
    media_type: str
    exporter: Exporter
    download_id: str
    created_at: datetime | None = None


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _object(value: object, field: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict) or tuple(value) != keys:
        raise ManifestError(f"{field}: expected the fields {', '.join(keys)}")
    return value


def _parse(data: bytes) -> Manifest:
    try:
        head, entries = read_json_with_list(data, "key_check_values")
        top = _object(head | {"key_check_values": None}, "manifest", _TOP_FIELDS)
        return _build(top, entries)
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
        if isinstance(error, ManifestError):
            raise
        raise ManifestError(
            f"the manifest is not valid UTF-8 JSON in its layout ({error})"
        ) from None


def _build(top: dict[str, Any], entries: Iterator[dict[str, Any]]) -> Manifest:
    if top["manifest_version"] != MANIFEST_VERSION:
        raise ManifestError(f"manifest_version {top['manifest_version']!r} is not supported")
    exporter = _object(top["exporter"], "exporter", ("name", "email", "organisation"))
    payload = _object(top["payload"], "payload", ("name", "media_type", "size", "sha256"))
    keys = ("device", "slot", "algorithm", "kcv")
    checks = tuple(KeyCheck(**_object(e, "key_check_values entry", keys)) for e in entries)
    try:
        created_at = datetime.strptime(str(top["created_at"]), _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ManifestError(f"created_at: expected UTC time, got {top['created_at']!r}") from None
    manifest = Manifest(
        format=top["format"],
        protection=top["protection"],
        created_at=created_at,
        download_id=top["download_id"],
        exporter=Exporter(**exporter),
        payload=PayloadInfo(**payload),
        key_checks=checks,
    )
    if (top["device_count"], top["key_count"]) != (manifest.device_count, manifest.key_count):
        raise ManifestError("device_count or key_count does not match the key check values")
    return manifest
