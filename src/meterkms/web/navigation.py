"""The menus of the web UI: "Admin" and "Gerätekatalog", each a list of sections.

A section shows only for actors holding its permission. Features add their sections here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from meterkms.organisations.permissions import Perm


@dataclass(frozen=True)
class Section:
    """One entry of a menu."""

    url_name: str
    label: str | Promise
    perm: Perm
    description: str | Promise = ""


ADMIN: list[Section] = [
    Section("web:tokens", _("API tokens"), Perm.TOKENS_MANAGE, _("Tokens for head-end systems")),
    Section("web:audit", _("Audit log"), Perm.AUDIT_READ, _("Every security-relevant event")),
]

CATALOGUE: list[Section] = [
    Section("web:devices", _("Devices"), Perm.DEVICES_READ, _("All your meters and modules")),
    Section(
        "web:imports",
        _("Imports"),
        Perm.DEVICES_IMPORT,
        _("Register devices and keys from production files"),
    ),
    Section(
        "web:downloads",
        _("Download list"),
        Perm.KEYS_DOWNLOAD,
        _("Your key files, ready to download"),
    ),
]

MENUS: dict[str, tuple[str | Promise, list[Section]]] = {
    "admin": (_("Admin"), ADMIN),
    "catalogue": (_("Device catalogue"), CATALOGUE),
}


def sections_for(actor: object, menu: str) -> list[Section]:
    """The sections of ``menu`` that ``actor`` may open."""
    _label, sections = MENUS[menu]
    return [section for section in sections if actor.has(section.perm)]  # type: ignore[attr-defined]
