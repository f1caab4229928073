"""Unit tests (domain core foreground): background work waits for the requests being served, within bounds."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from domains.core import foreground

pytestmark = pytest.mark.anyio


async def test_background_work_goes_on_at_once_when_no_request_is_being_served() -> None:
    slice_ = asyncio.ensure_future(foreground.yield_to_requests(max_wait_seconds=3600))
    for _ in range(3):
        await asyncio.sleep(0)
    assert slice_.done(), "a turn of the event loop, not a wait"
    assert foreground.requests_in_progress() == 0


async def test_background_work_waits_for_the_requests_in_progress_to_finish() -> None:
    order: list[str] = []

    async def request() -> None:
        async with foreground.serving():
            await asyncio.sleep(0.05)
            order.append("request done")

    async def background_slice() -> None:
        await asyncio.sleep(0.01)  # the request is being served by now
        await foreground.yield_to_requests(max_wait_seconds=5.0)
        order.append("slice ran")

    await asyncio.gather(request(), background_slice())
    assert order == ["request done", "slice ran"]
    assert foreground.requests_in_progress() == 0


async def test_background_work_still_moves_on_a_server_that_is_never_idle() -> None:
    release = asyncio.Event()

    async def endless_request() -> None:
        async with foreground.serving():
            await release.wait()

    serving = asyncio.ensure_future(endless_request())
    await asyncio.sleep(0)
    await foreground.yield_to_requests(max_wait_seconds=0.05)
    assert foreground.requests_in_progress() == 1, "the slice ran while the request was still served"
    release.set()
    await serving
    assert foreground.requests_in_progress() == 0


def _count_to(progress: list[int], n: int) -> int:
    for i in range(n):
        progress.append(i)  # a call: where the background thread looks for requests being served
    return len(progress)


async def test_work_in_a_background_thread_stands_aside_while_a_request_is_served() -> None:
    progress: list[int] = []
    switch_interval = sys.getswitchinterval()
    async with foreground.serving():
        work = asyncio.ensure_future(foreground.in_background_thread(_count_to, progress, 10_000))
        await asyncio.sleep(foreground.MAX_WAIT_SECONDS * 0.6)
        assert not work.done(), "it waits for the request"
        assert len(progress) < 100
    assert await work == 10_000, "and finished once the request was over"
    assert sys.getswitchinterval() == switch_interval, "the interpreter's switch interval is restored"
    assert sys.getprofile() is None


async def test_a_request_waiting_for_background_work_gets_it() -> None:
    """The request being served may be the one waiting for the work: it must not wait for ever."""
    progress: list[int] = []
    async with foreground.serving():
        done = await asyncio.wait_for(foreground.in_background_thread(_count_to, progress, 100_000), 10.0)
    assert done == 100_000


async def test_pure_work_within_a_request_runs_at_once_on_the_loop() -> None:
    progress: list[int] = []
    async with foreground.serving():
        assert await foreground.pure_work(_count_to, progress, 100_000) == 100_000


async def test_a_background_thread_holding_a_shared_lock_does_not_stand_aside() -> None:
    """A request may wait for the lock: the thread holding it must not wait for the request."""
    lock = foreground.SharedLock()
    progress: list[int] = []

    def count_holding_the_lock() -> int:
        with lock:
            return _count_to(progress, 10_000)

    async with foreground.serving():
        done = await asyncio.wait_for(foreground.in_background_thread(count_holding_the_lock), 5.0)
        assert done == 10_000, "finished while the request was still being served"


async def test_within_a_request_yielding_does_not_wait_for_the_request_itself() -> None:
    async def request() -> bool:
        async with foreground.serving():
            slice_ = asyncio.ensure_future(foreground.yield_to_requests(max_wait_seconds=3600))
            for _ in range(3):
                await asyncio.sleep(0)
            done = slice_.done()
            await slice_
            return done

    assert await request(), "code shared with requests takes a turn, not a wait"
    assert foreground.requests_in_progress() == 0


class _Cycle:
    """Garbage only the cycle collector frees: it refers to itself."""

    def __init__(self) -> None:
        self.me = self


async def test_cyclic_garbage_is_collected_between_requests_not_during_them() -> None:
    import gc
    import weakref

    automatic = gc.isenabled()
    gc.disable()  # only the collection under test may free the cycles
    foreground.collect_between_requests(1)
    try:
        other_started = asyncio.Event()
        other_may_finish = asyncio.Event()

        async def other_request() -> None:
            async with foreground.serving():
                other_started.set()
                await other_may_finish.wait()

        other = asyncio.create_task(other_request())
        await other_started.wait()
        async with foreground.serving():
            garbage = weakref.ref(_Cycle())
        for _ in range(3):
            await asyncio.sleep(0)
        assert garbage() is not None, "another request is still being served: nothing is collected yet"
        other_may_finish.set()
        await other
        for _ in range(3):
            await asyncio.sleep(0)
        assert garbage() is None, "collected once no request was in progress"
    finally:
        foreground.collect_between_requests(None)
        if automatic:
            gc.enable()


async def test_a_sync_process_sees_the_requests_of_the_serving_process_it_works_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import multiprocessing

    monkeypatch.setattr(foreground, "_last_served", float("-inf"))  # no request of this process's own

    shared = multiprocessing.get_context("spawn").RawArray("d", 2)
    shared[0], shared[1] = 0, float("-inf")
    saved = foreground._next_door
    foreground.watch_serving_process(shared)  # this test plays the sync process
    try:
        assert foreground.beside_serving_process()
        assert not foreground.writes_meet_requests()
        shared[0] = 1  # the serving process is handling a request
        assert foreground.writes_meet_requests()
        assert not foreground.recently_serving(), "this process itself serves none"
        bulk_write = asyncio.ensure_future(foreground.yield_to_requests_before_writing(max_wait_seconds=3600))
        await asyncio.sleep(0.02)
        assert not bulk_write.done(), "a bulk write waits while the serving process serves a request"
        shared[0], shared[1] = 0, time.monotonic()
        await asyncio.wait_for(bulk_write, timeout=1)
        assert foreground.writes_meet_requests(), "it finished a request a moment ago"
        shared[1] = time.monotonic() - 2 * foreground.RECENT_SECONDS
        assert not foreground.writes_meet_requests()

        shared[0] = 1  # a request that never ends: the write goes on after the longest wait
        started = time.monotonic()
        await foreground.yield_to_requests_before_writing(max_wait_seconds=0.05)
        assert 0.04 < time.monotonic() - started < 1
    finally:
        foreground._next_door = saved


async def test_a_serving_process_shares_its_requests_in_progress() -> None:
    import multiprocessing

    shared = foreground.share_serving_state(multiprocessing.get_context("spawn"))
    assert shared[0] == 0
    async with foreground.serving():
        assert shared[0] == 1
    assert shared[0] == 0
    assert time.monotonic() - shared[1] < 1, "when the last request finished"
