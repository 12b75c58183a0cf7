"""App config of meterkms.devices."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DevicesConfig(AppConfig):
    name = "meterkms.devices"
    label = "devices"

    def ready(self) -> None:
        from meterkms.devices.grams import GramContains
        from meterkms.devices.models import Device
        from meterkms.devices.seeds import seed_device_types

        Device._meta.get_field("serial").register_lookup(GramContains)

        # After every migrate (and every test flush): the manual's types always exist.
        post_migrate.connect(seed_device_types, sender=self)
