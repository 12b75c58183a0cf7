"""Proving keys for many telegrams: group by address, one key lookup per address, verdicts.

The caller (the proof service) owns the catalogue and the vault; this module owns the
logic. The flow is::

    parsed = parse_capture(text)
    wanted = addresses_to_fetch(parsed.telegrams)           # distinct addresses
    candidates = fetch_candidates(wanted)                   # one bulk query + unseal
    report = prove_batch(parsed, candidates)                # verdict per telegram

or, for big captures, :func:`prove_capture` does the same chunk by chunk.

A telegram's key is looked for under its addresses in order (for wM-Bus the meter's own
address from the long TPL header first, then the radio module's link address); the first
address with candidates is used. Verdicts:

- proven: some candidate passes every check;
- wrong key?: candidates were checked and none passes;
- no device: no candidate under any of the telegram's addresses;
- cannot tell: the telegram carries nothing a key can be checked against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from meterkms.devices.enums import Technology

from .checks import check_key, check_key_many
from .frames import Telegram
from .lines import ParsedInput, parse_capture_chunks
from .model import Candidate, DeviceAddress, KeyCheck, LineError, TelegramReport, Verdict
from .summary import Summary, summarise

NO_CANDIDATE = "no key is stored for this address"


@dataclass(frozen=True, slots=True)
class BatchReport:
    """Per-telegram reports in input order, the unusable lines and the summary."""

    reports: list[TelegramReport]
    errors: list[LineError]
    summary: Summary


#: A bulk lookup: the candidate keys stored under each of the given addresses (addresses
#: without any may be left out). The proof service implements it with one query.
Fetch = Callable[[set[DeviceAddress]], Mapping[DeviceAddress, Sequence[Candidate]]]


def prove_capture(
    data: str | bytes | Iterable[str],
    fetch: Fetch,
    *,
    technology: Technology | None = None,
    chunk_size: int = 2000,
) -> Iterator[BatchReport]:
    """Parse and prove a capture chunk by chunk, with one ``fetch`` per chunk.

    Only one chunk's telegrams and candidate keys are alive at a time: memory stays bounded,
    unsealed keys are dropped chunk by chunk, and the garbage collector does not have to walk
    the whole capture again and again. Merge the chunks' summaries with
    :func:`merge_summaries`. A caller proving a big capture may wrap its loop in
    :func:`meterkms.core.batchgc.collect_per_chunk` (as the proof service does).
    """
    for parsed in parse_capture_chunks(data, technology=technology, chunk_size=chunk_size):
        wanted = addresses_to_fetch(parsed.telegrams)
        yield prove_batch(parsed, fetch(wanted) if wanted else {})


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
    """Prove every telegram against the candidates stored under its addresses.

    Telegrams whose keys were found under the same address are checked together, so each
    candidate key is set up once per device, not once per telegram.
    """
    errors: list[LineError] = []
    if isinstance(telegrams, ParsedInput):
        errors = list(telegrams.errors)
        telegrams = telegrams.telegrams
    reports: list[TelegramReport | None] = [None] * len(telegrams)
    first, repeats = _bucket(telegrams, candidates, reports)
    for found, index in first.items():
        found_keys = candidates[found]
        more = repeats.get(found)
        if more is None and len(found_keys) == 1:  # one telegram, one key: nothing to share
            telegram = telegrams[index]
            outcome = check_key(telegram, found_keys[0].key)
            reports[index] = _report(telegram, outcome, found_keys[0].ref, 1, found)
            continue
        indexes = [index] if more is None else [index, *more]
        group = [telegrams[i] for i in indexes]
        for i, report in zip(
            indexes, prove_many(group, found_keys, found_under=found), strict=True
        ):
            reports[i] = report
    done = [report for report in reports if report is not None]
    return BatchReport(done, errors, summarise(done, len(errors)))


def _bucket(
    telegrams: Sequence[Telegram],
    candidates: Mapping[DeviceAddress, Sequence[Candidate]],
    reports: list[TelegramReport | None],
) -> tuple[dict[DeviceAddress, int], dict[DeviceAddress, list[int]]]:
    """Sort telegrams by the address their candidates are stored under.

    Returns the first telegram per address and the further ones (a list only where there
    are any: most captures have one telegram per meter). Telegrams that cannot be checked
    or have no candidates get their report right away.
    """
    first: dict[DeviceAddress, int] = {}
    repeats: dict[DeviceAddress, list[int]] = {}
    for index, telegram in enumerate(telegrams):
        if telegram.cannot_tell:
            reports[index] = TelegramReport(telegram, (), Verdict.CANNOT_TELL, telegram.cannot_tell)
            continue
        found = _found_under(telegram, candidates)
        if found is None:
            reports[index] = TelegramReport(telegram, (), Verdict.NO_DEVICE, NO_CANDIDATE)
        elif found not in first:
            first[found] = index
        elif found in repeats:
            repeats[found].append(index)
        else:
            repeats[found] = [index]
    return first, repeats


def _found_under(
    telegram: Telegram, candidates: Mapping[DeviceAddress, Sequence[Candidate]]
) -> DeviceAddress | None:
    """The first of the telegram's addresses with candidates, None when there is none."""
    address = telegram.address
    if address is not None and candidates.get(address):
        return address
    for address in telegram.lookup_addresses[1:]:
        if candidates.get(address):
            return address
    return None


def prove(telegram: Telegram, candidates: Sequence[Candidate]) -> TelegramReport:
    """Prove one telegram against the candidate keys of its device."""
    if telegram.cannot_tell:
        return TelegramReport(telegram, (), Verdict.CANNOT_TELL, telegram.cannot_tell)
    if not candidates:
        return TelegramReport(telegram, (), Verdict.NO_DEVICE, NO_CANDIDATE)
    return prove_many((telegram,), candidates)[0]


def prove_many(
    telegrams: Sequence[Telegram],
    candidates: Sequence[Candidate],
    *,
    found_under: DeviceAddress | None = None,
) -> list[TelegramReport]:
    """Prove checkable telegrams of one device against its (non-empty) candidate list.

    Each key is tried on all telegrams still unproven in one go. A report shows the checks
    of the proving candidate, or else those of the first candidate that could be checked.
    """
    if not candidates:
        return [
            TelegramReport(telegram, (), Verdict.NO_DEVICE, NO_CANDIDATE) for telegram in telegrams
        ]
    if len(candidates) == 1:  # the common case: one live key per device
        candidate = candidates[0]
        outcomes = check_key_many(telegrams, candidate.key)
        return [
            _report(telegram, outcome, candidate.ref, 1, found_under)
            for telegram, outcome in zip(telegrams, outcomes, strict=True)
        ]
    best: list[KeyCheck | None] = [None] * len(telegrams)
    proven_by: list[str | None] = [None] * len(telegrams)
    tried = [0] * len(telegrams)
    pending = list(range(len(telegrams)))
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
        _report(telegram, outcome, proven_by[i], tried[i], found_under)
        for i, (telegram, outcome) in enumerate(zip(telegrams, best, strict=True))
        if outcome is not None  # every telegram met at least the first candidate
    ]


def _report(
    telegram: Telegram,
    outcome: KeyCheck,
    key_ref: str | None,
    tried: int,
    found_under: DeviceAddress | None,
) -> TelegramReport:
    """The report for the best outcome of a telegram's candidates."""
    if outcome.proven:
        return TelegramReport(
            telegram, outcome.checks, Verdict.PROVEN, "", key_ref, tried, found_under
        )
    verdict = Verdict.CANNOT_TELL if outcome.undecidable else Verdict.WRONG_KEY
    reason = outcome.reason or "no stored key passes the checks"
    return TelegramReport(telegram, outcome.checks, verdict, reason, None, tried, found_under)
