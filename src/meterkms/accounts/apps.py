"""App config of meterkms.accounts."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "meterkms.accounts"
    label = "accounts"
