"""App config of meterkms.keys."""

from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "meterkms.keys"
    label = "keys"
