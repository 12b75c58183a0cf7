"""Many processes claiming the same device at the same moment, each on its own connection.

Used by ``test_claim_race.py`` on PostgreSQL (READ COMMITTED) and on the SQLite test
database file (WAL, BEGIN IMMEDIATE). The parent closes its connections and forks the
contenders; each opens its own connection, waits at a barrier, acts on the round's target
(claims a device, or confirms or rejects a claim request) and reports "won <action>",
"conflict" or the error it met.
"""

from __future__ import annotations

import multiprocessing
import time
import warnings
from typing import Any


def _attempt(action: str, user: Any, target: int) -> None:
    """One contender's move: claim a device, or confirm / reject a claim request."""
    from meterkms.batches.models import ClaimRequest
    from meterkms.batches.services import claim_devices, confirm_request, reject_request

    if action == "claim":
        claim_devices(actor=user, device_ids=[target])
        return
    request = ClaimRequest._base_manager.get(pk=target)
    decide = confirm_request if action == "confirm" else reject_request
    decide(actor=user, request=request)


def _contender(action: str, user_pk: int, targets: list[int], barrier: Any, results: Any) -> None:
    from django.db import connection

    from meterkms.accounts.models import User
    from meterkms.batches.claims import Conflict

    try:
        user = User._base_manager.select_related("organisation").get(pk=user_pk)
        for number, target in enumerate(targets):
            barrier.wait(timeout=300)
            try:
                _attempt(action, user, target)
                outcome = f"won {action}"
            except Conflict:
                outcome = "conflict"
            except Exception as exc:  # the test fails on any of these, with the reason
                outcome = f"error: {type(exc).__name__}: {exc}"
            results.put((number, outcome))
    finally:
        connection.close()


def race(
    user_pk: int, targets: list[int], contenders: int, actions: tuple[str, ...] = ("claim",)
) -> tuple[list[list[str]], float]:
    """Per round, the outcomes of ``contenders`` processes acting on that round's target.

    Process ``i`` does ``actions[i % len(actions)]`` (claim a device; confirm or reject a
    claim request). Returns the outcomes and the wall-clock seconds the rounds took.
    """
    from django.db import connections

    connections.close_all()  # the children must not share the parent's connection
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(contenders)
    results = context.Queue()
    processes = [
        context.Process(
            target=_contender,
            args=(actions[index % len(actions)], user_pk, targets, barrier, results),
        )
        for index in range(contenders)
    ]
    started = time.perf_counter()
    with warnings.catch_warnings():
        # Forking with helper threads alive is fine here: the children use no lock those
        # threads could hold (no shared connection, no logging handlers in use).
        warnings.simplefilter("ignore", DeprecationWarning)
        for process in processes:
            process.start()
    outcomes: list[list[str]] = [[] for _ in targets]
    for _ in range(contenders * len(targets)):
        number, outcome = results.get(timeout=600)
        outcomes[number].append(outcome)
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join(timeout=120)
    return outcomes, elapsed
