"""Which template an email uses, and the reads the pages share."""

from __future__ import annotations

import uuid

from django.conf import settings

from meterkms.core import tenancy
from meterkms.emails.defaults import SYSTEM_DEFAULTS
from meterkms.emails.enums import EmailKind
from meterkms.emails.models import EmailTemplate
from meterkms.organisations.models import PATH_SEP, Organisation


def ancestor_ids(organisation: Organisation) -> list[uuid.UUID]:
    """The organisation and its ancestors, nearest first (read from its materialised path)."""
    return [uuid.UUID(hex=part) for part in reversed(organisation.path.split(PATH_SEP)) if part]


def template_language(language: str) -> str:
    """``language`` if system defaults exist for it, else the installation's language."""
    known = {code for _kind, code in SYSTEM_DEFAULTS}
    if language in known:
        return language
    return settings.LANGUAGE_CODE if settings.LANGUAGE_CODE in known else "en"


def system_default(kind: str, language: str) -> EmailTemplate:
    """The stored system default of ``kind`` in ``language`` (synced if it is missing)."""
    with tenancy.crossing("system defaults belong to no organisation"):
        found = EmailTemplate.objects.filter(
            organisation__isnull=True, kind=kind, language=language
        ).first()
    if found is None:
        from meterkms.emails.system import sync_system_templates

        sync_system_templates()
        with tenancy.crossing("system defaults belong to no organisation"):
            found = EmailTemplate.objects.get(
                organisation__isnull=True, kind=kind, language=language
            )
    return found


def resolve_template(
    *, kind: EmailKind | str, language: str, organisation: Organisation | None
) -> EmailTemplate:
    """The template an email of ``kind`` to a reader of ``language`` uses.

    The sending organisation's active template in that language, else the nearest
    ancestor's, else the system default. Reading the ancestors' templates crosses tenants on
    purpose: a sub-organisation's emails use what its parents set up, even though its users
    cannot see those templates.
    """
    kind = EmailKind(kind)
    language = template_language(language)
    if organisation is not None:
        chain = ancestor_ids(organisation)
        with tenancy.crossing("an organisation's emails fall back to its ancestors' templates"):
            candidates = {
                template.organisation_id: template
                for template in EmailTemplate.objects.filter(
                    kind=kind, language=language, is_active=True, organisation_id__in=chain
                )
            }
        for organisation_id in chain:
            if organisation_id in candidates:
                return candidates[organisation_id]
    return system_default(kind, language)


def effective_template_ids(organisation: Organisation) -> set[int]:
    """Ids of the templates the organisation's emails use now, one per kind × language."""
    chain = ancestor_ids(organisation)
    depth = {organisation_id: index for index, organisation_id in enumerate(chain)}
    chosen: dict[tuple[str, str], tuple[int, int]] = {}
    with tenancy.crossing("an organisation's emails fall back to its ancestors' templates"):
        rows = EmailTemplate.objects.filter(is_active=True).filter(
            organisation_id__in=chain
        ) | EmailTemplate.objects.filter(organisation__isnull=True)
        for pk, organisation_id, kind, language in rows.values_list(
            "pk", "organisation_id", "kind", "language"
        ):
            rank = depth.get(organisation_id, len(chain))
            key = (kind, language)
            if key not in chosen or rank < chosen[key][0]:
                chosen[key] = (rank, pk)
    return {pk for _rank, pk in chosen.values()}
