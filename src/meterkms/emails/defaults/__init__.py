"""The system default templates: one per kind × language, shipped with meterkms.

The words live in one module per language; :func:`sync_system_templates` writes them into
the database after every ``migrate`` (so an update of meterkms updates its defaults) and is
idempotent. System defaults are read-only in the UI and API; organisations copy them.
"""

from __future__ import annotations

from meterkms.emails.defaults import de, en, es, sv
from meterkms.emails.defaults.layout import TemplateContent, content

_MODULES = (de, en, es, sv)

#: (kind, language) → the default's content.
SYSTEM_DEFAULTS: dict[tuple[str, str], TemplateContent] = {
    (kind, module.LANGUAGE.code): content(module.LANGUAGE, text)
    for module in _MODULES
    for kind, text in module.TEXTS.items()
}


def sort_path(kind: str, language: str) -> str:
    """Where a system default sorts: by kind, then language; copies hang below it."""
    return f"{kind}/{language}/"
