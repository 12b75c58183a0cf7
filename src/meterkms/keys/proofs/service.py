"""The proof service: captured traffic against the stored keys of the devices an actor sees.

The engine of this package parses and checks; this module adds what needs the database and
the vault, chunk by chunk (2,000 lines by default):

1. the engine parses the chunk and names the addresses to look up;
2. one query returns the live, sealed keys of the visible devices under those addresses
   (:class:`~.lookup.CatalogueLookup`);
3. the vault opens them in batches, grouped by (manufacturer scope, slot, version);
4. the engine proves the chunk; its candidate keys are dropped with it.

Keys exist only inside steps 3 and 4: they are never returned, logged or written to a report
or to the audit log. What leaves is addresses, check outcomes, verdicts and which devices
were tried. Each run writes one audit event with counts and device ids.

On PostgreSQL, a capture of more than one chunk has its lookups run one chunk ahead on a
second connection, in a worker thread: the database server works on the next chunk's
addresses while this process proves the current one, so the two cores of a small server
both work. That connection sees what the caller's sees only outside a transaction, so inside
one (and on SQLite) the chunks are looked up in turn.

Who may prove a key: an actor holding ``keys:prove``, against the devices it may see (owned
in its subtree, or offered to it in an open batch). The device need not be claimed: a proof
reveals nothing of the key, only whether it fits, so a manufacturer proves the devices it
still holds and a customer the devices it owns or is offered. Devices of other trees are
never looked up: their addresses answer "no device with this address".
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core.batchgc import collect_per_chunk
from meterkms.core.errors import DomainError, PermissionDenied
from meterkms.devices.enums import Technology
from meterkms.organisations.permissions import Perm

from .batch import BatchReport, addresses_to_fetch, prove_batch
from .lines import ParsedInput, parse_capture_chunks
from .lookup import CatalogueLookup, Row
from .model import Candidate, DeviceAddress, Verdict
from .rows import ProofRow, rows_of
from .summary import Summary, merge_summaries

CHUNK_LINES = 2000
#: Device ids per list in a run's audit event (the counts are always complete).
AUDIT_DEVICE_IDS = 10_000
#: Audit names of the telegram verdicts (data names with "key" in them would be masked).
AUDIT_VERDICTS = {
    Verdict.PROVEN: "proven",
    Verdict.WRONG_KEY: "wrong",
    Verdict.NO_DEVICE: "no_device",
    Verdict.CANNOT_TELL: "cannot_tell",
}

Candidates = dict[DeviceAddress, list[Candidate]]


@dataclass
class ProofRun:
    """What a proof run answers: the summary, the first rows and the devices involved.

    ``rows`` holds the first ``keep`` rows (telegrams and unusable lines, in input order);
    ``lines`` counts them all. ``failed_devices`` were tried and never proven.
    """

    summary: Summary
    rows: list[ProofRow]
    lines: int
    proven_devices: set[int] = field(default_factory=set)
    failed_devices: set[int] = field(default_factory=set)
    unreadable_keys: int = 0

    @property
    def truncated(self) -> bool:
        """True when more rows were proven than ``rows`` holds."""
        return self.lines > len(self.rows)


def prove_traffic(
    *,
    actor: Any,
    data: str | bytes | Iterable[str],
    technology: Technology | None = None,
    keep: int = 1000,
    on_rows: Callable[[list[ProofRow]], None] | None = None,
    source: str = "",
    channel: str | None = None,
    chunk_size: int = CHUNK_LINES,
) -> ProofRun:
    """Prove captured telegrams against the keys of the devices ``actor`` may see.

    ``data`` is text, file bytes or an iterable of lines (streamed chunk by chunk).
    ``keep`` rows are returned; ``on_rows`` receives every chunk's rows (for a CSV report
    or a listing). ``source`` says where the input came from, for the audit (a file name,
    "paste"). Raises :class:`PermissionDenied` without ``keys:prove`` and
    :class:`DomainError` ("invalid") when the input holds no line to prove.
    """
    if not actor.has(Perm.KEYS_PROVE):
        raise PermissionDenied()
    lookup = CatalogueLookup(actor)
    run = ProofRun(Summary(0, 0, {}, {}), [], 0)
    summaries = []
    chunks = parse_capture_chunks(data, technology=technology, chunk_size=chunk_size)
    with collect_per_chunk() as collector:
        for batch, candidates in _proven_chunks(lookup, chunks):
            summaries.append(batch.summary)
            _note_devices(batch, lookup, candidates, run)
            run.lines += len(batch.reports) + len(batch.errors)
            if on_rows is not None or len(run.rows) < keep:
                rows = rows_of(batch, lookup.key_ref, candidates)
                if on_rows is not None:
                    on_rows(rows)
                run.rows += rows[: max(0, keep - len(run.rows))]
            del batch, candidates  # the chunk's keys go with it
            collector.chunk_done()
    if not run.lines:
        raise DomainError(
            "invalid", _("The input holds no telegram: paste or upload one telegram per line.")
        )
    run.summary = merge_summaries(summaries)
    run.failed_devices -= run.proven_devices
    run.unreadable_keys = lookup.unreadable
    _audit(actor, run, source, channel)
    return run


def _proven_chunks(
    lookup: CatalogueLookup, chunks: Iterable[ParsedInput]
) -> Iterator[tuple[BatchReport, Candidates]]:
    """Each chunk proven against its candidates, with lookups one chunk ahead if possible."""
    chunks = iter(chunks)
    head = [chunk for chunk in (next(chunks, None), next(chunks, None)) if chunk is not None]
    everything = chain(head, chunks)
    if len(head) < 2 or not _second_connection_sees_the_data():
        for parsed in everything:
            wanted = addresses_to_fetch(parsed.telegrams)
            yield _prove(lookup, parsed, wanted, lookup.rows(wanted))
        return
    yield from _pipelined(lookup, everything)


def _second_connection_sees_the_data() -> bool:
    """True when another connection would read what this one reads (and may do so)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _pipelined(
    lookup: CatalogueLookup, chunks: Iterable[ParsedInput]
) -> Iterator[tuple[BatchReport, Candidates]]:
    """Look chunk n + 1 up in a worker thread (its own connection) while chunk n is proven."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="proof-lookup") as worker:
        worker.submit(_tune_worker_connection).result()
        try:
            pending: tuple[ParsedInput, set[DeviceAddress], Future[list[Row]]] | None = None
            for parsed in chunks:
                wanted = addresses_to_fetch(parsed.telegrams)
                ahead = (parsed, wanted, worker.submit(lookup.rows, wanted))
                if pending is not None:
                    yield _prove(lookup, *pending)
                pending = ahead
            if pending is not None:
                yield _prove(lookup, *pending)
        finally:
            worker.submit(_close_worker_connection).result()


def _tune_worker_connection() -> None:
    """The worker's lookups are small index probes: no parallel workers for them.

    The setting lives only as long as the worker's connection, closed after the run.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")


def _close_worker_connection() -> None:
    connection.close()


def _prove(
    lookup: CatalogueLookup,
    parsed: ParsedInput,
    wanted: set[DeviceAddress],
    rows: list[Row] | Future[list[Row]],
) -> tuple[BatchReport, Candidates]:
    """Unseal the chunk's candidates and prove it."""
    if isinstance(rows, Future):
        rows = rows.result()
    candidates = lookup.candidates(rows, wanted) if wanted else {}
    return prove_batch(parsed, candidates), candidates


def _note_devices(
    batch: BatchReport, lookup: CatalogueLookup, candidates: Candidates, run: ProofRun
) -> None:
    """Add the chunk's proven devices and the devices whose keys failed to the run."""
    proven, failed = run.proven_devices, run.failed_devices
    device_id = lookup.device_id
    for report in batch.reports:
        verdict = report.verdict
        if verdict is Verdict.PROVEN:
            proven.add(device_id(report.key_ref))  # type: ignore[arg-type]
        elif verdict is Verdict.WRONG_KEY and report.found_under is not None:
            failed.update(device_id(c.ref) for c in candidates[report.found_under])


def audit_data(run: ProofRun, source: str = "") -> dict[str, Any]:
    """What the audit event of a run holds: counts and device ids, never keys or payloads."""
    summary = run.summary
    return {
        "source": source[:200],
        "telegrams": summary.telegrams,
        "bad_lines": summary.bad_lines,
        "verdicts": {
            name: summary.telegram_verdicts.get(verdict, 0)
            for verdict, name in AUDIT_VERDICTS.items()
        },
        "devices": {
            "proven": summary.proven_devices,
            "wrong": summary.wrong_key_devices,
            "unknown": summary.unknown_devices,
        },
        "proven_device_ids": _first_ids(run.proven_devices),
        "failed_device_ids": _first_ids(run.failed_devices),
        "device_ids_complete": max(len(run.proven_devices), len(run.failed_devices))
        <= AUDIT_DEVICE_IDS,
        "unreadable_blobs": run.unreadable_keys,
    }


def _first_ids(ids: set[int]) -> list[int]:
    """The lowest ``AUDIT_DEVICE_IDS`` ids, sorted: one audit event stays bounded."""
    if len(ids) <= AUDIT_DEVICE_IDS:
        return sorted(ids)
    return heapq.nsmallest(AUDIT_DEVICE_IDS, ids)


def _audit(actor: Any, run: ProofRun, source: str, channel: str | None) -> None:
    """One event per run, in a short transaction of its own.

    The proof itself only reads; it runs outside any transaction so that a long capture
    holds no lock (SQLite would block every writer for the whole run).
    """
    with transaction.atomic():
        record(Action.KEYS_PROVED, actor=actor, data=audit_data(run, source), channel=channel)
