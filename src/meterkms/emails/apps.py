"""App config of meterkms.emails."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EmailsConfig(AppConfig):
    """Email templates, safe rendering, the outbox and the account emails."""

    name = "meterkms.emails"
    label = "emails"

    def ready(self) -> None:
        from meterkms.emails.system import sync_after_migrate

        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="emails-sync-defaults")
