"""Unit tests (domain core foreground): background work waits for the requests being served, within bounds."""

from __future__ import annotations

import asyncio

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
