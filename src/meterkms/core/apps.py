"""App config of the core package (tenancy, settings helpers, middleware)."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "meterkms.core"
    label = "core"
    verbose_name = "meterkms core"
