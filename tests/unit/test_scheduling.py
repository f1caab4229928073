"""Unit tests (domain core): what background work and the writer's lock holds ask of the kernel (Linux)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest

from domains.core import scheduling

linux_only = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux scheduling calls")
T = TypeVar("T")


def _in_a_thread(setup: Callable[[], object], look: Callable[[int], T]) -> T:
    """`setup()` on a thread of its own (priorities are a thread's: the test process keeps its own), then
    `look(thread_id)` from outside while that thread still lives."""
    ready, done = threading.Event(), threading.Event()
    seen: list[T] = []

    def run() -> None:
        setup()
        ready.set()
        done.wait(10)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert ready.wait(10)
        assert thread.native_id is not None
        seen.append(look(thread.native_id))
    finally:
        done.set()
        thread.join()
    return seen[0]


@linux_only
def test_background_work_is_niced_idle_and_off_the_first_processor() -> None:
    processors = sorted(os.sched_getaffinity(0))

    niceness, policy, allowed = _in_a_thread(
        scheduling.in_background,
        lambda tid: (
            os.getpriority(os.PRIO_PROCESS, tid),
            os.sched_getscheduler(tid),
            os.sched_getaffinity(tid),
        ),
    )

    assert niceness == scheduling.BACKGROUND_NICENESS
    assert policy == os.SCHED_IDLE
    if len(processors) > 1:
        assert allowed == set(processors[1:]), "the first processor is left to the serving thread"
    else:
        assert allowed == set(processors), "with one processor there is nowhere else to go"
    assert os.sched_getscheduler(0) == os.SCHED_OTHER, "the caller's own thread is untouched"


@linux_only
def test_the_write_lock_is_held_in_real_time_where_allowed_then_given_back() -> None:
    inside: list[int] = []

    def hold() -> None:
        with scheduling.holding_the_write_lock():
            inside.append(os.sched_getscheduler(0))

    after = _in_a_thread(hold, os.sched_getscheduler)

    # Real time needs a privilege (root here and in CI); without it the thread stays as it was.
    assert inside == [os.SCHED_FIFO if _real_time_allowed() else os.SCHED_OTHER]
    assert after == os.SCHED_OTHER, "back in its own class once the transaction is over"


def _real_time_allowed() -> bool:
    """Whether this process may put a thread in the real-time class (tried on a thread thrown away)."""

    def try_it() -> None:
        with contextlib.suppress(PermissionError):
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))

    return _in_a_thread(try_it, os.sched_getscheduler) == os.SCHED_FIFO
