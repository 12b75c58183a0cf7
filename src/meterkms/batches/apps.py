"""App config of meterkms.batches."""

from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "meterkms.batches"
    label = "batches"
