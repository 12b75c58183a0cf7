"""App config of meterkms.organisations."""

from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "meterkms.organisations"
    label = "organisations"
