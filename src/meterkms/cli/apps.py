"""App config of meterkms.cli: the management commands behind the `meterkms` command."""

from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "meterkms.cli"
    label = "cli"
