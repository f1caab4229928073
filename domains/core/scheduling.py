"""Domain (core): how the kernel schedules this app's processes, so that a request has a processor first.

Linux only; elsewhere, and where the kernel refuses, every function here leaves things as they were.

Background work (a sync process and the processes it starts) runs in the idle class at the lowest
niceness, and off the first processor. The idle class alone was not enough: since Linux 6.6 the fair
scheduler is EEVDF, and a thread that has run its short protected slice is checked at the next tick
(4 ms apart on these machines), when another thread owed processor time may take over until the tick
after, even an idle-class one. A request takes 5 ms, so during a sync 5% of keypresses waited 3-4 ms for
a sync's thread in the middle of their work. Kept off one processor, background threads never queue
beside the serving thread there, and the serving thread, which the kernel wakes where it last ran if
that processor is free, keeps to it: 0.3% waited that long.

A writer process runs the sync's write transactions at the serving process's priority (they hold the
database's one write lock, which requests wait for); while it holds the lock it is in the real-time
class where the system allows it (`holding_the_write_lock`), so that no thread, a request's included,
takes its processor in the middle and leaves every request waiting for the lock meanwhile.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

# The lowest niceness there is: at 15 a sync's processor time still added half again to a request's p99.
BACKGROUND_NICENESS = 19
# The lowest real-time priority: above every thread of the normal classes, below the system's own.
LOWEST_REAL_TIME_PRIORITY = 1

_real_time_refused = False


def in_background(thread_id: int = 0) -> None:
    """Make a thread (0: the calling one, and what it starts from then on) background work: niceness
    `BACKGROUND_NICENESS`, the idle class (preempted at once by a thread of another class that wakes,
    where a niced one may first finish its slice), and every processor but the first."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, thread_id, BACKGROUND_NICENESS)
    if not hasattr(os, "sched_setscheduler"):
        return
    with contextlib.suppress(OSError):
        os.sched_setscheduler(thread_id, os.SCHED_IDLE, os.sched_param(0))
    with contextlib.suppress(OSError):
        processors = sorted(os.sched_getaffinity(thread_id))
        if len(processors) > 1:
            os.sched_setaffinity(thread_id, processors[1:])


@contextlib.contextmanager
def in_real_time(priority: int = LOWEST_REAL_TIME_PRIORITY) -> Iterator[bool]:
    """The calling thread in the FIFO real-time class at `priority` for the block, then back in its own
    class; yields whether the system allowed it (it needs a privilege: root here). Refused, the thread
    stays as it is."""
    if not hasattr(os, "SCHED_FIFO"):
        yield False
        return
    before = os.sched_getscheduler(0), os.sched_getparam(0)
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except OSError:
        yield False
        return
    try:
        yield True
    finally:
        os.sched_setscheduler(0, *before)


@contextlib.contextmanager
def holding_the_write_lock() -> Iterator[None]:
    """While the calling thread holds the database's write lock: `in_real_time`, so that it runs to its
    commit without being preempted. Where real time is refused, the thread stays as it is, and the
    refusal is remembered (no system call per write after the first)."""
    global _real_time_refused
    if _real_time_refused:
        yield
        return
    with in_real_time() as allowed:
        _real_time_refused = not allowed
        yield
