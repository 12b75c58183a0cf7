"""Schemas of the key download endpoints. Keys travel only in files, never in JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Schema
from pydantic import Field


class SelectionIn(Schema):
    """Which devices: exactly one of a list of ids, a device-list filter, or a batch."""

    devices: list[int] | None = Field(None, description="device ids (at most 10,000)")
    filter: dict[str, str] | None = Field(
        None, description="the query parameters of GET /api/v1/devices (serial, label, …)"
    )
    batch: int | None = Field(None, description="a shipment batch id")


class DownloadIn(SelectionIn):
    """A download request. The password or public key protects the file; never logged."""

    format: str = Field(
        "csv", description="csv, xlsx, json, tts-csv, tts-json, chirpstack, wmbusmeters or keylist"
    )
    protection: str = Field(
        "password",
        description="none, password, xmlenc-3des, "
        "xmlenc-aes128, xmlenc-aes192, xmlenc-aes256 (weak) or recipient",
    )
    password: str | None = Field(None, description="for password and xmlenc-* protection")
    recipient_public_key: str | None = Field(
        None, description="PEM public key or certificate, for recipient protection"
    )
    csv_delimiter: str | None = Field(None, description="default: your profile's")
    csv_thousands_separator: str | None = Field(None, description="default: your profile's")
    background: bool = Field(
        False, description="prepare in the background even when small (always above the limit)"
    )


class LeftOutOut(Schema):
    """A device that gives no key, and why (no serial for ids that were not found)."""

    device: int | None
    serial: str | None = None
    reason: str
    message: str


class PreviewOut(Schema):
    """What a selection would give."""

    device_count: int
    left_out_count: int
    left_out: list[LeftOutOut]
    background: bool


class DownloadOut(Schema):
    """A download in the user's download list."""

    id: UUID
    state: str
    format: str
    protection: str
    background: bool
    device_count: int
    key_count: int
    progress_done: int
    progress_total: int | None
    left_out_count: int
    left_out: list[LeftOutOut]
    file_name: str
    size: int | None
    sha256: str
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None
    fetch_count: int
    error: str


class DownloadPage(Schema):
    """A page of downloads; ``count_exact`` is false when ``count`` is a lower bound."""

    count: int
    count_exact: bool
    offset: int
    limit: int
    items: list[DownloadOut]


def left_out_out(entries: list[dict[str, Any]], texts: dict[Any, Any]) -> list[dict[str, Any]]:
    """Left-out entries with their readable reasons."""
    return [
        {
            "device": entry.get("device"),
            "serial": entry.get("serial"),
            "reason": entry["reason"],
            "message": str(texts.get(entry["reason"], entry["reason"])),
        }
        for entry in entries
    ]
