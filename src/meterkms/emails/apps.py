"""App config of meterkms.emails."""

from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "meterkms.emails"
    label = "emails"
