"""Line-based exports: The Things Stack CSV, ``MAN;SERIAL;KEY`` lists, wmbusmeters meters.

The Things Stack CSV: ``;``-separated with a header (lorawan-stack-docs ``device-csv.md``):
``id;dev_eui;join_eui;name;description;lorawan_version;app_key;nwk_key`` (with
``lorawan_phy_version`` and ``frequency_plan_id`` when given, and ``dev_addr``,
``app_s_key``, ``f_nwk_s_int_key``, ``s_nwk_s_int_key``, ``nwk_s_enc_key`` when session keys
are asked for), then ``serial;app_key_kcv;nwk_key_kcv``, which TTS ignores ("unknown header
columns are permitted and ignored") and our importer reads. Every cell is quoted and
neutralised, as the file is meant to be opened in a spreadsheet too.

``MAN;SERIAL;KEY``: one wM-Bus meter per line, no header; the second field is the serial
(``id_field="meter_address"`` writes the 8-digit address instead) and a fourth field the
key check value unless ``check_values=False`` (for portals that take exactly three fields).

wmbusmeters: one block per meter, as its meter files hold them (``name=`` serial,
``driver=auto``, ``id=`` address, ``key=`` key) with a ``#kcv=`` comment line, blocks
separated by a blank line; split at blank lines into ``/etc/wmbusmeters.d/`` files.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from meterkms.devices.enums import KeySlot
from meterkms.keys.exports.formats.cells import neutralise
from meterkms.keys.exports.formats.csv_writer import csv_lines
from meterkms.keys.exports.formats.json_writers import TTS_SLOTS
from meterkms.keys.exports.formats.rows import (
    LORAWAN_ROOT_SLOTS,
    WMBUS_SLOTS,
    ExportFormatError,
    ExportRow,
    check_slots,
    devices,
    first,
    require_key,
    tts_mac_version,
)

CHUNK = 1000

_TTS_KEY_COLUMNS = {
    KeySlot.LORAWAN_APPKEY: "app_key",
    KeySlot.LORAWAN_NWKKEY: "nwk_key",
    KeySlot.LORAWAN_APPSKEY: "app_s_key",
    KeySlot.LORAWAN_NWKSKEY: "f_nwk_s_int_key",
    KeySlot.LORAWAN_FNWKSINTKEY: "f_nwk_s_int_key",
    KeySlot.LORAWAN_SNWKSINTKEY: "s_nwk_s_int_key",
    KeySlot.LORAWAN_NWKSENCKEY: "nwk_s_enc_key",
}
TTS_CSV_COLUMNS = (
    "id",
    "dev_eui",
    "join_eui",
    "name",
    "description",
    "lorawan_version",
    "lorawan_phy_version",
    "frequency_plan_id",
    "app_key",
    "nwk_key",
    "dev_addr",
    "app_s_key",
    "f_nwk_s_int_key",
    "s_nwk_s_int_key",
    "nwk_s_enc_key",
    "serial",
    "app_key_kcv",
    "nwk_key_kcv",
)


_SESSION_COLUMNS = ("dev_addr", "app_s_key", "f_nwk_s_int_key", "s_nwk_s_int_key", "nwk_s_enc_key")


def tts_csv_columns(
    frequency_plan_id: str | None, lorawan_phy_version: str | None, session_keys: bool
) -> list[str]:
    """The header of one TTS CSV file: optional columns only when they will have values."""
    skip = set() if session_keys else set(_SESSION_COLUMNS)
    if not frequency_plan_id:
        skip.add("frequency_plan_id")
    if not lorawan_phy_version:
        skip.add("lorawan_phy_version")
    return [name for name in TTS_CSV_COLUMNS if name not in skip]


def _tts_cells(
    device: list[ExportRow], fixed: dict[str, str], session_keys: bool
) -> dict[str, str]:
    check_slots(device, TTS_SLOTS if session_keys else LORAWAN_ROOT_SLOTS, "The Things Stack CSV")
    dev_eui, join_eui = first(device, "dev_eui"), first(device, "join_eui")
    if not dev_eui or not join_eui:
        raise ExportFormatError(f"serial {device[0].serial!r} has no DevEUI/JoinEUI")
    version = first(device, "lorawan_version")
    cells = {
        "id": f"eui-{str(dev_eui).lower()}",
        "dev_eui": str(dev_eui),
        "join_eui": str(join_eui),
        "name": device[0].serial,
        "description": device[0].device_type or "",
        "lorawan_version": tts_mac_version(device[0].serial, str(version)) if version else "",
        "serial": device[0].serial,
        "dev_addr": str(first(device, "dev_addr") or ""),
        **fixed,
    }
    for row in device:
        column = _TTS_KEY_COLUMNS[row.slot]
        cells[column] = require_key(row)
        if column in ("app_key", "nwk_key"):
            cells[f"{column}_kcv"] = row.check_value
    return cells


def write_tts_csv(
    rows: Iterable[ExportRow],
    out: BinaryIO,
    *,
    frequency_plan_id: str | None = None,
    lorawan_phy_version: str | None = None,
    session_keys: bool = False,
) -> int:
    """Write The Things Stack device CSV; returns the number of rows (keys) written.

    No BOM: TTS reads the header literally, and ``\ufeffid`` would not be ``id``.
    Session keys (ABP) need ``session_keys=True``, which adds their columns.
    """
    fixed = {
        "frequency_plan_id": frequency_plan_id or "",
        "lorawan_phy_version": lorawan_phy_version or "",
    }
    columns = tts_csv_columns(frequency_plan_id, lorawan_phy_version, session_keys)
    out.write((";".join(columns) + "\r\n").encode("utf-8"))
    count = 0
    batch: list[dict[str, str]] = []
    for device in devices(rows):
        batch.append(_tts_cells(device, fixed, session_keys))
        count += len(device)
        if len(batch) >= CHUNK:
            out.write(_tts_lines(batch, columns).encode("utf-8"))
            batch.clear()
    if batch:
        out.write(_tts_lines(batch, columns).encode("utf-8"))
    return count


def _tts_lines(batch: list[dict[str, str]], names: list[str]) -> str:
    columns = [[cells.get(name, "") for cells in batch] for name in names]
    return csv_lines(columns, ";")


def _wmbus_key(device: list[ExportRow], format_name: str) -> tuple[ExportRow, str]:
    check_slots(device, WMBUS_SLOTS, format_name)
    if len(device) != 1:
        raise ExportFormatError(
            f"serial {device[0].serial!r} has more than one key for {format_name}"
        )
    return device[0], require_key(device[0])


def write_key_list(
    rows: Iterable[ExportRow],
    out: BinaryIO,
    *,
    delimiter: str = ";",
    id_field: str = "serial",
    check_values: bool = True,
) -> int:
    """Write ``MAN;SERIAL;KEY[;KCV]`` lines (UTF-8, CRLF); returns the number of rows written."""
    if id_field not in ("serial", "meter_address"):
        raise ValueError("id_field must be 'serial' or 'meter_address'")
    lines: list[str] = []
    count = 0
    for device in devices(rows):
        row, key_hex = _wmbus_key(device, "MAN;SERIAL;KEY")
        ident = row.serial if id_field == "serial" else row.meter_address
        if not ident:
            raise ExportFormatError(f"serial {row.serial!r} has no meter address")
        fields = [neutralise(row.manufacturer or ""), neutralise(ident), key_hex]
        if check_values:
            fields.append(row.check_value)
        lines.append(delimiter.join(fields) + "\r\n")
        count += 1
        if len(lines) >= CHUNK:
            out.write("".join(lines).encode("utf-8"))
            lines.clear()
    out.write("".join(lines).encode("utf-8"))
    return count


def write_wmbusmeters(rows: Iterable[ExportRow], out: BinaryIO) -> int:
    """Write wmbusmeters meter blocks; returns the number of rows written."""
    blocks: list[str] = []
    count = 0
    for device in devices(rows):
        row, key_hex = _wmbus_key(device, "wmbusmeters")
        if not row.meter_address:
            raise ExportFormatError(f"serial {row.serial!r} has no meter address for wmbusmeters")
        blocks.append(
            f"name={row.serial}\ndriver=auto\nid={row.meter_address}\nkey={key_hex}\n"
            f"#kcv={row.check_value}\n\n"
        )
        count += 1
        if len(blocks) >= CHUNK:
            out.write("".join(blocks).encode("utf-8"))
            blocks.clear()
    out.write("".join(blocks).encode("utf-8"))
    return count
