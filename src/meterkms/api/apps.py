"""App config of meterkms.api."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "meterkms.api"
    label = "api"
