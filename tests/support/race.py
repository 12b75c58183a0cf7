"""Real concurrency for race tests: many threads try the same thing at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable


def at_once(attempt: Callable[[], str], contenders: int) -> list[str]:
    """``contenders`` threads call ``attempt`` at the same moment, each on its own database
    connection; returns their answers (``error: …`` where one raised)."""
    from django.db import connection

    barrier = threading.Barrier(contenders)
    results: list[str] = []
    lock = threading.Lock()

    def contender() -> None:
        outcome = "error"
        try:
            barrier.wait(timeout=30)
            outcome = attempt()
        except Exception as exc:  # reported to the test, which fails on any of these
            outcome = f"error: {type(exc).__name__}: {exc}"
        finally:
            connection.close()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=contender) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
