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
    Section("web:users", _("Users"), Perm.USERS_READ, _("People of your organisations")),
    Section("web:invitations", _("Invitations"), Perm.USERS_INVITE, _("Invite people by email")),
    Section(
        "web:organisations",
        _("Organisations"),
        Perm.ORGANISATIONS_READ,
        _("Your organisation and the ones below it"),
    ),
    Section(
        "web:partners", _("Partners"), Perm.ORGANISATIONS_READ, _("Organisations of other trees")
    ),
    Section("web:tokens", _("API tokens"), Perm.TOKENS_MANAGE, _("Tokens for head-end systems")),
    Section("web:audit", _("Audit log"), Perm.AUDIT_READ, _("Every security-relevant event")),
    Section(
        "web:email_templates",
        _("Email"),
        Perm.EMAILS_EDIT,
        _("Email templates: preview, copy, activate, edit"),
    ),
    Section(
        "web:email_outbox",
        _("Outbox"),
        Perm.EMAILS_READ,
        _("Every email sent: state, attempts, errors"),
    ),
]

CATALOGUE: list[Section] = [
    Section("web:devices", _("Devices"), Perm.DEVICES_READ, _("All your meters and modules")),
    Section(
        "web:batch_offers",
        _("Claim batch"),
        Perm.DEVICES_CLAIM,
        _("Batches sent to your organisation, waiting to be claimed"),
    ),
    Section(
        "web:batches",
        _("Batch references"),
        Perm.BATCHES_READ,
        _("Shipment batches you sent or received"),
    ),
    Section(
        "web:batch_create",
        _("Create batch reference"),
        Perm.BATCHES_CREATE,
        _("Offer devices to a customer or partner"),
    ),
    Section(
        "web:claim_requests",
        _("Claim requests"),
        Perm.BATCHES_READ,
        _("Claims that wait for the sender's confirmation"),
    ),
    Section(
        "web:ownership",
        _("Take ownership"),
        Perm.OWNERSHIP_TRANSFER,
        _("Hand devices to a partner or sub-organisation, or take them back"),
    ),
    Section(
        "web:imports",
        _("Imports"),
        Perm.DEVICES_IMPORT,
        _("Register devices and keys from production files"),
    ),
    Section(
        "web:proofs",
        _("Prove keys"),
        Perm.KEYS_PROVE,
        _("Check stored keys against captured telegrams, without showing them"),
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
