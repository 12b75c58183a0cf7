"""App config of meterkms.devices."""

from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "meterkms.devices"
    label = "devices"
