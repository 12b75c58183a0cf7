"""Proving keys for many telegrams: group by address, one key lookup per address, verdicts.

The caller (the proof service) owns the catalogue and the vault; this module owns the
logic. The flow is::

    parsed = parse_capture(text)
    wanted = addresses_to_fetch(parsed.telegrams)           # distinct addresses
    candidates = fetch_candidates(wanted)                   # one bulk query + unseal
    report = prove_batch(parsed, candidates)                # verdict per telegram

A telegram's key is looked for under its addresses in order (for wM-Bus the meter's own
address from the long TPL header first, then the radio module's link address); the first
address with candidates is used. Verdicts:

- proven: some candidate passes every check;
- wrong key?: candidates were checked and none passes;
- no device: no candidate under any of the telegram's addresses;
- cannot tell: the telegram carries nothing a key can be checked against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .checks import check_key_many
from .frames import Telegram
from .lines import ParsedInput
from .model import Candidate, DeviceAddress, KeyCheck, LineError, TelegramReport, Verdict
from .summary import Summary, summarise

NO_CANDIDATE = "no key is stored for this address"


@dataclass(frozen=True, slots=True)
class BatchReport:
    """Per-telegram reports in input order, the unusable lines and the summary."""

    reports: list[TelegramReport]
    errors: list[LineError]
    summary: Summary


def group_by_address(telegrams: Iterable[Telegram]) -> dict[DeviceAddress, list[Telegram]]:
    """The checkable telegrams grouped by their first lookup address, in input order."""
    groups: dict[DeviceAddress, list[Telegram]] = {}
    for telegram in telegrams:
        if telegram.cannot_tell:
            continue
        address = telegram.lookup_addresses[0]
        group = groups.get(address)
        if group is None:
            groups[address] = [telegram]
        else:
            group.append(telegram)
    return groups


def addresses_to_fetch(telegrams: Iterable[Telegram]) -> set[DeviceAddress]:
    """Every distinct address a key may be stored under: one lookup each, in one query."""
    wanted: set[DeviceAddress] = set()
    for telegram in telegrams:
        if not telegram.cannot_tell:
            wanted.update(telegram.lookup_addresses)
    return wanted


def prove_batch(
    telegrams: ParsedInput | Sequence[Telegram],
    candidates: Mapping[DeviceAddress, Sequence[Candidate]],
) -> BatchReport:
    """Prove every telegram against the candidates stored under its addresses."""
    errors: list[LineError] = []
    if isinstance(telegrams, ParsedInput):
        errors = list(telegrams.errors)
        telegrams = telegrams.telegrams
    reports: list[TelegramReport] = []
    buckets: dict[DeviceAddress | None, list[Telegram]] = {}
    for telegram in telegrams:
        if telegram.cannot_tell:
            reports.append(_report(telegram, None, None, 0, Verdict.CANNOT_TELL))
            continue
        found = _found_under(telegram, candidates)
        bucket = buckets.get(found)
        if bucket is None:
            buckets[found] = [telegram]
        else:
            bucket.append(telegram)
    for found, group in buckets.items():
        if found is None:
            reports.extend(_report(t, None, None, 0, Verdict.NO_DEVICE) for t in group)
        else:
            reports.extend(prove_many(group, candidates[found], found_under=found))
    reports.sort(key=_line)
    return BatchReport(reports, errors, summarise(reports, len(errors)))


def _line(report: TelegramReport) -> int:
    return report.line


def _found_under(
    telegram: Telegram, candidates: Mapping[DeviceAddress, Sequence[Candidate]]
) -> DeviceAddress | None:
    for address in telegram.lookup_addresses:
        if candidates.get(address):
            return address
    return None


def prove(telegram: Telegram, candidates: Sequence[Candidate]) -> TelegramReport:
    """Prove one telegram against the candidate keys of its device."""
    return prove_many((telegram,), candidates)[0]


def prove_many(
    telegrams: Sequence[Telegram],
    candidates: Sequence[Candidate],
    *,
    found_under: DeviceAddress | None = None,
) -> list[TelegramReport]:
    """Prove telegrams of one device against its candidates, trying each key on all at once.

    A telegram stops being tried once a candidate proves it. Its report shows the checks of
    the proving candidate, or else those of the first candidate that could be checked.
    ``found_under`` is the address the candidates were stored under (default: the
    telegram's own first lookup address).
    """
    count = len(telegrams)
    best: list[KeyCheck | None] = [None] * count
    proven_by: list[str | None] = [None] * count
    tried = [0] * count
    pending = list(range(count))
    for candidate in candidates:
        if not pending:
            break
        outcomes = check_key_many([telegrams[i] for i in pending], candidate.key)
        still = []
        for index, outcome in zip(pending, outcomes, strict=True):
            tried[index] += 1
            current = best[index]
            if current is None or outcome.proven or (outcome.checks and not current.checks):
                best[index] = outcome
            if outcome.proven:
                proven_by[index] = candidate.ref
            else:
                still.append(index)
        pending = still
    return [
        _report(telegrams[i], best[i], proven_by[i], tried[i], _verdict(best[i]), found_under)
        for i in range(count)
    ]


def _verdict(outcome: KeyCheck | None) -> Verdict:
    if outcome is None:
        return Verdict.NO_DEVICE
    if outcome.proven:
        return Verdict.PROVEN
    if outcome.undecidable:
        return Verdict.CANNOT_TELL
    return Verdict.WRONG_KEY


def _reason(telegram: Telegram, outcome: KeyCheck | None, verdict: Verdict) -> str:
    if verdict is Verdict.CANNOT_TELL and outcome is None:
        return telegram.cannot_tell
    if verdict is Verdict.NO_DEVICE:
        return NO_CANDIDATE
    if outcome is not None and outcome.reason:
        return outcome.reason
    if verdict is Verdict.WRONG_KEY:
        return "no stored key passes the checks"
    return ""


def _report(
    telegram: Telegram,
    outcome: KeyCheck | None,
    key_ref: str | None,
    tried: int,
    verdict: Verdict,
    found_under: DeviceAddress | None = None,
) -> TelegramReport:
    return TelegramReport(
        line=telegram.line,
        technology=telegram.technology,
        scheme=telegram.scheme,
        address=found_under or telegram.address,
        link_address=telegram.link_address,
        tpl_address=telegram.tpl_address,
        iv_source=telegram.iv_source,
        join_eui=telegram.join_eui,
        checks=outcome.checks if outcome is not None else (),
        verdict=verdict,
        reason=_reason(telegram, outcome, verdict),
        key_ref=key_ref,
        candidates_tried=tried,
    )
