"""Read ahead: let a second thread produce the next items while this one works on the last.

On a two-core server the producer (parsing a file, or waiting for the database) and the
consumer (sealing, writing, waiting for the database in turn) then run at the same time. The
items arrive in order; an exception of the producer is raised in the consumer; when the
consumer stops early (an error, or a closed generator), the producer stops at its next item.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator

_END = object()


def read_ahead[T](
    produce: Callable[[], Iterable[T]],
    *,
    name: str,
    depth: int = 4,
    finish: Callable[[], None] | None = None,
) -> Iterator[T]:
    """The items of ``produce()``, iterated on a thread of its own, at most ``depth`` ahead.

    ``finish`` runs on the producing thread when it ends (e.g. to close that thread's
    database connection).
    """
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            for item in produce():
                while not stop.is_set():
                    with contextlib.suppress(queue.Full):
                        items.put(item, timeout=0.5)
                        break
                if stop.is_set():
                    return
            items.put(_END)
        except BaseException as exc:  # handed to the consuming side, which raises it
            items.put(exc)
        finally:
            if finish is not None:
                finish()

    producer = threading.Thread(target=run, name=name, daemon=True)
    producer.start()
    try:
        while (item := items.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                items.get_nowait()
        producer.join(timeout=30)
