"""Schemas of the key proof endpoint: check outcomes and verdicts, never a key or plaintext."""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import Field

TechnologyIn = Literal["wM-Bus", "LoRaWAN"]


class ProofIn(Schema):
    """Captured telegrams as text, one per line (for big logs send text/plain or a file)."""

    telegrams: str = Field(
        description="One telegram per line: hex, wmbusmeters telegram=|…| or rtl-wmbus lines, "
        "LoRaWAN join requests and join accepts (hex PHYPayload)."
    )
    technology: TechnologyIn | None = Field(
        default=None, description="Read every line as this technology (default: detect)."
    )


class CheckOut(Schema):
    """One check of the stored key against the telegram: 2F2F, MAC, CRC or MIC."""

    kind: str
    passed: bool


class DeviceRefOut(Schema):
    """A device named by a result: the proving one, else those whose keys were tried."""

    id: int
    serial: str


class ProofResultOut(Schema):
    """The result for one line: a telegram, or an unusable line (verdict ``bad-line``)."""

    line: int
    verdict: Literal["proven", "wrong-key", "no-device", "cannot-tell", "bad-line"]
    verdict_text: str
    reason: str
    technology: str
    scheme: str | None
    scheme_text: str
    address: str
    link_address: str
    tpl_address: str
    iv_address: Literal["link", "tpl"] | None
    join_eui: str
    checks: list[CheckOut]
    devices: list[DeviceRefOut]
    key_slot: str = Field(description="Slot and version of the proving key, e.g. 'OMS v1'.")
    candidates_tried: int


class VerdictCountsOut(Schema):
    """Telegrams per verdict."""

    proven: int
    wrong_key: int
    no_device: int
    cannot_tell: int


class DeviceCountsOut(Schema):
    """Devices (addresses) by their best verdict."""

    proven: int
    wrong_key: int
    unknown: int


class ProofSummaryOut(Schema):
    """Counts of the whole capture."""

    lines: int
    telegrams: int
    bad_lines: int
    telegram_verdicts: VerdictCountsOut
    devices: DeviceCountsOut
    unreadable_keys: int = Field(description="Stored keys that did not open (integrity).")


class ProofOut(Schema):
    """The summary and the results asked for (see the ``results`` parameter)."""

    summary: ProofSummaryOut
    results: list[ProofResultOut]
