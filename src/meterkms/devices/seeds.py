"""The device types of the manual, shared by every organisation (kept after each migrate)."""

from __future__ import annotations

from typing import Any

TYPES = [
    ("TOPAS Lora W8", "LoRaWAN", "TOPAS SONIC", ["AppKey"]),
    ("CalecST III LoRa Module", "LoRaWAN", "CALEC ST III", ["AppKey"]),
    ("CalecST III WM-Bus", "wM-Bus", "CALEC ST III", ["OMS"]),
    ("Aquastream LoRa", "LoRaWAN", "aquastream", ["AppKey"]),
    ("Aquastream WM-Bus", "wM-Bus", "aquastream", ["OMS"]),
    ("TOPAS Mbus", "M-Bus", "TOPAS SONIC", ["MBUS"]),
]


def seed_device_types(**_kwargs: Any) -> None:
    """Create the shared types that are missing (a ``post_migrate`` receiver)."""
    from meterkms.devices.models import DeviceType

    for name, technology, family, slots in TYPES:
        DeviceType._base_manager.get_or_create(
            name=name,
            organisation=None,
            defaults={"technology": technology, "product_family": family, "key_slots": slots},
        )
