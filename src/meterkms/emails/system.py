"""Writing the shipped system default templates into the database."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from meterkms.core import tenancy
from meterkms.emails.defaults import SYSTEM_DEFAULTS, sort_path
from meterkms.emails.models import EmailTemplate


@transaction.atomic
def sync_system_templates() -> int:
    """Create or update every system default to match the shipped texts; returns the changes.

    Idempotent; runs after every ``migrate``. System defaults are read-only for users, so
    the shipped texts are their only source.
    """
    changed = 0
    with tenancy.crossing("system defaults belong to no organisation"):
        existing = {
            (template.kind, template.language): template
            for template in EmailTemplate.objects.filter(organisation__isnull=True)
        }
        for (kind, language), content in SYSTEM_DEFAULTS.items():
            wanted = {
                "name": content.name,
                "subject": content.subject,
                "body_text": content.body_text,
                "body_html": content.body_html,
                "is_active": True,
                "sort_path": sort_path(kind, language),
            }
            template = existing.get((kind, language))
            if template is None:
                EmailTemplate._base_manager.create(kind=kind, language=language, **wanted)
                changed += 1
            elif any(getattr(template, field) != value for field, value in wanted.items()):
                for field, value in wanted.items():
                    setattr(template, field, value)
                template.save()
                changed += 1
    return changed


def sync_after_migrate(**kwargs: Any) -> None:
    """post_migrate receiver: sync once the emails tables exist."""
    sync_system_templates()
