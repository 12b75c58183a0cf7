"""Batch loops collect garbage per chunk: automatic collection is off while one runs."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from meterkms.core.batchgc import collect_per_chunk


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    """A reference cycle nobody holds: only the collector frees it."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def test_automatic_collection_is_off_inside_and_on_again_after():
    assert gc.isenabled()
    with collect_per_chunk():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_chunk_done_frees_cycles_left_by_the_chunk():
    with collect_per_chunk() as collector:
        dead = cycle()
        assert dead() is not None  # nothing collects it automatically here
        collector.chunk_done()
        assert dead() is None


def test_an_error_in_the_loop_turns_collection_back_on():
    with pytest.raises(RuntimeError), collect_per_chunk():
        raise RuntimeError("chunk failed")
    assert gc.isenabled()


def test_collection_stays_off_until_the_last_of_overlapping_loops_ends():
    first_inside, first_may_leave = threading.Event(), threading.Event()
    seen: list[bool] = []

    def first_loop() -> None:
        with collect_per_chunk():
            first_inside.set()
            assert first_may_leave.wait(5)

    thread = threading.Thread(target=first_loop)
    thread.start()
    try:
        assert first_inside.wait(5)
        with collect_per_chunk():
            pass
        seen.append(gc.isenabled())  # the first loop still runs
    finally:
        first_may_leave.set()
        thread.join(5)
    assert not thread.is_alive()
    assert seen == [False]
    assert gc.isenabled()


def test_a_process_that_had_collection_off_keeps_it_off():
    gc.disable()
    try:
        with collect_per_chunk():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
