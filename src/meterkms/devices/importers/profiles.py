"""Profiles of tabular formats: which column names count and what every row must have.

The generic profile knows every alias of :mod:`columns`; The Things Stack profile knows the
exact column names of its CSV (lorawan-stack-docs ``device-csv.md``), ignores its other
columns silently as TTS does, and takes the DevEUI as serial when there is no ``serial``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from meterkms.devices.enums import KeySlot
from meterkms.devices.importers.assembler import NumberPolicy, RecordAssembler
from meterkms.devices.importers.base import ParseOptions
from meterkms.devices.importers.columns import ALIASES, SPECS, ColumnSpec, Kind, squash
from meterkms.devices.importers.records import DeviceRecord


@dataclass(frozen=True, slots=True)
class TabularProfile:
    """Column names, required columns and values of one tabular format."""

    name: str
    aliases: Mapping[str, ColumnSpec]
    required_columns: tuple[str, ...]
    required_values: tuple[str | KeySlot, ...] = ()
    required_reason: str = ""
    serial_fallback: str | None = None
    adjust: Callable[[DeviceRecord], None] | None = None

    def assembler(self, options: ParseOptions, numbers: NumberPolicy) -> RecordAssembler:
        """A record assembler for one file of this profile."""
        return RecordAssembler(
            limits=options.limits,
            numbers=numbers,
            detect_duplicates=options.detect_duplicates,
            serial_fallback=self.serial_fallback,
            required=self.required_values,
            required_reason=self.required_reason,
        )


GENERIC = TabularProfile("csv", ALIASES, required_columns=("serial",))

_IGNORED = ColumnSpec("ignored", Kind.IGNORED, lambda text: text)

#: Columns of The Things Stack CSV, by exact name (plus ``serial`` and ``*_kcv`` of ours).
TTS_COLUMNS: dict[str, ColumnSpec] = {
    "dev_eui": SPECS["dev_eui"],
    "join_eui": SPECS["join_eui"],
    "app_eui": SPECS["join_eui"],
    "lorawan_version": SPECS["lorawan_version"],
    "app_key": SPECS["app_key"],
    "nwk_key": SPECS["nwk_key"],
    "dev_addr": SPECS["dev_addr"],
    "app_s_key": SPECS["app_s_key"],
    "f_nwk_s_int_key": SPECS["f_nwk_s_int_key"],
    "s_nwk_s_int_key": SPECS["s_nwk_s_int_key"],
    "nwk_s_enc_key": SPECS["nwk_s_enc_key"],
    "serial": SPECS["serial"],
    "app_key_kcv": SPECS["app_key_kcv"],
    "nwk_key_kcv": SPECS["nwk_key_kcv"],
}
for _name in (
    "id",
    "name",
    "description",
    "lorawan_phy_version",
    "frequency_plan_id",
    "brand_id",
    "model_id",
    "firmware_version",
    "hardware_version",
    "band_id",
    "supports_class_c",
    "rx1_delay",
    "supports_32_bit_f_cnt",
    "last_f_cnt_up",
    "last_n_f_cnt_down",
    "last_a_f_cnt_down",
):
    TTS_COLUMNS[_name] = _IGNORED


def tts_session_keys(record: DeviceRecord) -> None:
    """In LoRaWAN 1.0.x, TTS's ``f_nwk_s_int_key`` is the NwkSKey: store it in that slot."""
    if record.lorawan_version and record.lorawan_version.startswith("1.0"):
        key = record.keys.pop(KeySlot.LORAWAN_FNWKSINTKEY, None)
        if key is not None:
            record.keys[KeySlot.LORAWAN_NWKSKEY] = key


TTS = TabularProfile(
    "tts-csv",
    {squash(name): spec for name, spec in TTS_COLUMNS.items()},
    required_columns=("dev_eui", "join_eui", "app_key"),
    required_values=("dev_eui", "join_eui", KeySlot.LORAWAN_APPKEY),
    required_reason=" (The Things Stack requires it)",
    serial_fallback="dev_eui",
    adjust=tts_session_keys,
)
