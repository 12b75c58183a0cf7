"""What every batch service shares: the actor's subtree, serial resolution, refusals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from meterkms.batches import bulk
from meterkms.batches.serials import Entry, Problem
from meterkms.core.errors import DomainError
from meterkms.organisations.models import Organisation, subtree_filter

#: Problems carried in one refusal; the message names the total.
MAX_DETAILS = 1000


def subtree_values(actor: Any) -> set[Any]:
    """Raw database ids of the organisations in the actor's subtree (read fresh)."""
    ids = Organisation._base_manager.filter(
        subtree_filter("path", actor.organisation_path)
    ).values_list("id", flat=True)
    return {bulk.org_value(pk) for pk in ids}


def user_of(actor: Any) -> Any:
    """The user behind an actor (API token actors carry one)."""
    return getattr(actor, "user", actor)


def refuse(field_name: str, message: str, code: str = "invalid") -> DomainError:
    """A refusal that names the form field it is about."""
    return DomainError(code, message, details=[{"field": field_name, "message": message}])


def clean_text(value: str, *, field_name: str, max_length: int, required: bool) -> str:
    """``value`` with runs of white space collapsed; refused when empty or too long."""
    cleaned = " ".join((value or "").split())
    if required and not cleaned:
        raise refuse(field_name, _("This field is required."))
    if len(cleaned) > max_length:
        raise refuse(field_name, _("At most %(n)d characters, please.") % {"n": max_length})
    return cleaned


@dataclass
class Resolved:
    """Serial numbers matched to devices the actor may see, and every problem on the way."""

    devices: list[tuple[Entry, bulk.DeviceRow]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: The inputs (typed text, file names) in the order they came, for sorting problems.
    sources: dict[str, None] = field(default_factory=dict)

    def refusal(self) -> DomainError:
        """One refusal carrying every problem (up to :data:`MAX_DETAILS`), in input order."""
        return refuse_problems(self.problems, order=list(self.sources))

    def add(self, entry: Entry, message: str) -> None:
        """A problem at ``entry``'s position."""
        self.problems.append(Problem(entry.line, entry.column, entry.source, message, entry.serial))


def resolve(items: Iterable[Entry | Problem], *, visible: set[Any], prefer_owner: Any) -> Resolved:
    """Match entries to visible devices; duplicates, unknown and ambiguous serials are problems.

    A device the actor may not see is reported exactly like a serial number that does not
    exist ("unknown"), so the answer tells nothing about other organisations' devices.
    """
    result = Resolved()
    first: dict[str, Entry] = {}
    wanted: list[Entry] = []
    for item in items:
        result.sources.setdefault(item.source, None)
        if isinstance(item, Problem):
            result.problems.append(item)
            continue
        earlier = first.get(item.serial)
        if earlier is not None:
            result.add(item, _duplicate(earlier, item))
            continue
        first[item.serial] = item
        wanted.append(item)
    rows = bulk.rows_by_serial([entry.serial for entry in wanted])
    for entry in wanted:
        candidates = [
            row
            for row in rows.get(entry.serial, ())
            if row.owner in visible or row.claimable_by in visible
        ]
        if len(candidates) > 1:
            # The same serial from two manufacturers: the actor's own device wins.
            candidates = [row for row in candidates if row.owner == prefer_owner]
            if len(candidates) > 1:
                result.add(entry, _("several of your devices have this serial number"))
                continue
        if not candidates:
            result.add(entry, _("unknown serial number"))
            continue
        result.devices.append((entry, candidates[0]))
    return result


def _duplicate(earlier: Entry, entry: Entry) -> str:
    where = {"line": earlier.line, "column": earlier.column}
    if earlier.source != entry.source:
        return _("listed twice (first in %(source)s, line %(line)d, column %(column)d)") % {
            **where,
            "source": earlier.source,
        }
    return _("listed twice (first in line %(line)d, column %(column)d)") % where


def refuse_problems(problems: list[Problem], *, order: list[str]) -> DomainError:
    """One refusal carrying every problem (up to :data:`MAX_DETAILS`), in input order."""
    rank = {source: index for index, source in enumerate(order)}
    problems.sort(key=lambda p: (rank.get(p.source, len(rank)), p.line, p.column))
    message = ngettext(
        "%(n)d problem: nothing was changed.",
        "%(n)d problems: nothing was changed.",
        len(problems),
    ) % {"n": len(problems)}
    return DomainError(
        "invalid", message, details=[problem.as_detail() for problem in problems[:MAX_DETAILS]]
    )
