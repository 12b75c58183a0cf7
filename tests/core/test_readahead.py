"""read_ahead: items in order, the producer's errors raised here, an early stop stops it."""

from __future__ import annotations

import threading
import time

import pytest

from meterkms.core.readahead import read_ahead


def test_items_arrive_in_order_from_another_thread() -> None:
    threads: set[str] = set()

    def produce():
        for number in range(1000):
            threads.add(threading.current_thread().name)
            yield number

    assert list(read_ahead(produce, name="numbers", depth=3)) == list(range(1000))
    assert threads == {"numbers"}


def test_the_producers_exception_is_raised_after_its_earlier_items() -> None:
    def produce():
        yield 1
        yield 2
        raise ValueError("line 3: broken")

    items = read_ahead(produce, name="failing")
    assert [next(items), next(items)] == [1, 2]
    with pytest.raises(ValueError, match="line 3"):
        next(items)


def test_stopping_early_stops_the_producer_and_runs_finish() -> None:
    produced = []
    finished = threading.Event()

    def produce():
        for number in range(10_000):
            produced.append(number)
            yield number

    items = read_ahead(produce, name="endless", depth=2, finish=finished.set)
    assert next(items) == 0
    items.close()
    assert finished.wait(5)
    count = len(produced)
    time.sleep(0.1)
    assert len(produced) == count < 10_000
