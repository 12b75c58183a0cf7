"""App config of meterkms.vault."""

from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "meterkms.vault"
    label = "vault"
