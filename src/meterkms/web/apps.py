"""App config of meterkms.web."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "meterkms.web"
    label = "web"
