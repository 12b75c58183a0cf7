"""Many processes claiming the same device at the same moment, each on its own connection.

Used by ``test_claim_race.py`` on PostgreSQL (READ COMMITTED) and on the SQLite test
database file (WAL, BEGIN IMMEDIATE). The parent closes its connections and forks the
contenders; each opens its own connection, waits at a barrier, claims the round's device
and reports "won", "conflict" or the error it met.
"""

from __future__ import annotations

import multiprocessing
import time
import warnings
from typing import Any


def _contender(user_pk: int, device_ids: list[int], barrier: Any, results: Any) -> None:
    from django.db import connection

    from meterkms.accounts.models import User
    from meterkms.batches.claims import Conflict
    from meterkms.batches.services import claim_devices

    try:
        user = User._base_manager.select_related("organisation").get(pk=user_pk)
        for number, device_id in enumerate(device_ids):
            barrier.wait(timeout=300)
            try:
                claim_devices(actor=user, device_ids=[device_id])
                outcome = "won"
            except Conflict:
                outcome = "conflict"
            except Exception as exc:  # the test fails on any of these, with the reason
                outcome = f"error: {type(exc).__name__}: {exc}"
            results.put((number, outcome))
    finally:
        connection.close()


def race(user_pk: int, device_ids: list[int], contenders: int) -> tuple[list[list[str]], float]:
    """Per round, the outcomes of ``contenders`` processes claiming that round's device.

    Returns the outcomes and the wall-clock seconds the rounds took.
    """
    from django.db import connections

    connections.close_all()  # the children must not share the parent's connection
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(contenders)
    results = context.Queue()
    processes = [
        context.Process(target=_contender, args=(user_pk, device_ids, barrier, results))
        for _ in range(contenders)
    ]
    started = time.perf_counter()
    with warnings.catch_warnings():
        # Forking with helper threads alive is fine here: the children use no lock those
        # threads could hold (no shared connection, no logging handlers in use).
        warnings.simplefilter("ignore", DeprecationWarning)
        for process in processes:
            process.start()
    outcomes: list[list[str]] = [[] for _ in device_ids]
    for _ in range(contenders * len(device_ids)):
        number, outcome = results.get(timeout=600)
        outcomes[number].append(outcome)
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join(timeout=120)
    return outcomes, elapsed
