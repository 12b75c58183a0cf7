"""Seed the device types of the manual (shared by every organisation)."""

from django.db import migrations

TYPES = [
    ("TOPAS Lora W8", "LoRaWAN", "TOPAS SONIC", ["AppKey"]),
    ("CalecST III LoRa Module", "LoRaWAN", "CALEC ST III", ["AppKey"]),
    ("CalecST III WM-Bus", "wM-Bus", "CALEC ST III", ["OMS"]),
    ("Aquastream LoRa", "LoRaWAN", "aquastream", ["AppKey"]),
    ("Aquastream WM-Bus", "wM-Bus", "aquastream", ["OMS"]),
    ("TOPAS Mbus", "M-Bus", "TOPAS SONIC", ["MBUS"]),
]


def seed(apps, schema_editor):
    device_type = apps.get_model("devices", "DeviceType")
    for name, technology, family, slots in TYPES:
        device_type.objects.get_or_create(
            name=name,
            organisation=None,
            defaults={"technology": technology, "product_family": family, "key_slots": slots},
        )


def unseed(apps, schema_editor):
    device_type = apps.get_model("devices", "DeviceType")
    device_type.objects.filter(organisation=None, name__in=[t[0] for t in TYPES]).delete()


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
