"""App config of meterkms.audit."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "meterkms.audit"
    label = "audit"
