"""Domain (core): the requests this process is serving, which background work on its event loop yields to.

A sync shares the event loop with the web requests of its process. Taking plain turns with them, it
crowds them out: a request needs a turn at every await (a dozen in a keypress) and waits behind a slice
of the sync's work at each. Instead, between slices, background work calls `yield_to_requests`: it goes
on at once when no request is being served, else when the last one finishes, or after `max_wait_seconds`
at the latest, so it still moves on a server that is never idle.

A serving process's sync runs are carried out in a sync process beside it (`app/sync_process.py`), which
shares only SQLite's write lock with it: the serving process publishes its requests in progress in shared
memory (`share_serving_state`), and the sync process's bulk writes wait for them
(`watch_serving_process`, `yield_to_requests_before_writing`).
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from types import FrameType
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

# Longest a slice of background work waits for the requests in progress to finish.
MAX_WAIT_SECONDS = 0.05
# How long after a request background work still expects more (`recently_serving`).
RECENT_SECONDS = 1.0
# While pure work runs in a background thread (`in_background_thread`): how soon a thread that waits for
# the interpreter gets it (Python's default: 5 ms), and how often the background thread looks for requests
# being served while it waits for them.
_BACKGROUND_SWITCH_SECONDS = 0.0005
_BACKGROUND_PAUSE_SECONDS = 0.0005

# Rows a turn of `row_batches` fetches while the process is serving requests: about a millisecond's work.
SERVING_BATCH = 100

P = ParamSpec("P")
T = TypeVar("T")

# Young objects from which a moment with no request in progress is used to collect them (see
# `collect_between_requests`); None: the collector runs only when its own thresholds say.
_collect_from: int | None = None

_serving = 0
# When the last request finished (`time.monotonic`).
_last_served = float("-inf")
_waiting: list[asyncio.Future[None]] = []
# Shared with a sync process (`share_serving_state`): [requests in progress, when the last one finished].
_shared: Any | None = None
# In a sync process (`watch_serving_process`): the serving process's shared state, as `_shared` there.
_next_door: Any | None = None
# How often bulk writes waiting for the serving process next door look at its requests again.
_NEXT_DOOR_POLL_SECONDS = 0.001
# Set while a request is being handled: code shared with requests (a snapshot load) yields to others
# without waiting for the request it is part of.
_IN_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("runway_in_request", default=False)


@asynccontextmanager
async def serving() -> AsyncIterator[None]:
    """Around the handling of one request (the app's outermost middleware)."""
    global _serving, _last_served
    _serving += 1
    if _shared is not None:
        _shared[0] = _serving
    token = _IN_REQUEST.set(True)
    try:
        yield
    finally:
        _IN_REQUEST.reset(token)
        _serving -= 1
        _last_served = time.monotonic()
        if _shared is not None:
            _shared[1] = _last_served
            _shared[0] = _serving
        if _serving == 0:
            _wake_all()
            if _collect_from is not None and gc.get_count()[0] >= _collect_from:
                asyncio.get_running_loop().call_soon(_collect_if_idle)


def tune_garbage_collector(*, between_requests: bool = False) -> None:
    """The collector's settings for a long-running process (`runway serve`, `runway worker`, `runway
    sync`); `between_requests` for a process serving requests.

    What the process loaded at startup (modules, mappings, templates) never becomes garbage: it leaves the
    collector's walks altogether, which otherwise go over it at every full collection (a sync's pages
    brought one every few pages). A request, or a page of a sync, allocates thousands of objects that
    reference counting frees; at the default threshold (700) the collector ran once or more a request,
    and its older generations' pauses (1-5 ms) were much of a dismiss's p99. A server collects the young
    generation between requests (`collect_between_requests`), the raised threshold being its backstop.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 10, 10)
    if between_requests:
        collect_between_requests(IDLE_YOUNG)


# Allocations between collections of the youngest generation (Python's default: 700): a backstop where
# collections run between requests from IDLE_YOUNG young objects on.
YOUNG_THRESHOLD = 10_000
IDLE_YOUNG = 2_000


def collect_between_requests(young_objects: int | None) -> None:
    """Collect cyclic garbage when no request is being served, once `young_objects` have piled up.

    A request leaves some cyclic garbage (the framework's futures, frames and exceptions: about fifty
    objects a keypress) and allocates a few thousand objects. The collector's own threshold then starts a
    collection in the middle of whichever request crosses it, and with a high threshold that pause is long
    (10-25 ms at 10,000: the top of a keypress's p99 at 100 requests a second). Collected between
    requests instead, in smaller steps, no request waits for it; the threshold stays as a backstop for a
    server that is never idle. None: stop (the default)."""
    global _collect_from
    _collect_from = young_objects


def _collect_if_idle() -> None:
    if _serving:
        return  # a request started meanwhile: the next idle moment will do
    _young, young_collections, _old = gc.get_count()
    # Collect the middle generation too when the collector itself would at its next young collection.
    gc.collect(1 if young_collections + 1 >= gc.get_threshold()[1] else 0)


def requests_in_progress() -> int:
    return _serving


def recently_serving(within_seconds: float = RECENT_SECONDS) -> bool:
    """Whether this process is serving a request, or finished one less than `within_seconds` ago."""
    return _serving_within(_serving, _last_served, within_seconds)


def _serving_within(in_progress: float, last_served: float, within_seconds: float) -> bool:
    return in_progress > 0 or time.monotonic() - last_served < within_seconds


def writes_meet_requests(within_seconds: float = RECENT_SECONDS) -> bool:
    """Whether a bulk write may keep requests' writes waiting for SQLite's write lock: this process is
    `recently_serving`, or, in a sync process, the serving process it works for is."""
    if recently_serving(within_seconds):
        return True
    return _next_door is not None and _serving_within(_next_door[0], _next_door[1], within_seconds)


def share_serving_state(context: Any) -> Any:
    """In a serving process: its requests in progress, and when the last one finished, kept from now on in
    shared memory of `context` (a `multiprocessing` context) for the sync process it starts, which hands
    the result to `watch_serving_process`."""
    global _shared
    if _shared is None:
        _shared = context.RawArray("d", 2)
        _shared[0], _shared[1] = _serving, _last_served
    return _shared


def watch_serving_process(shared: Any) -> None:
    """In a sync process: the requests of the serving process it works for (`share_serving_state`) count
    for its bulk writes (`writes_meet_requests`, `yield_to_requests_before_writing`). SQLite's write lock
    is one for both processes; the processor and the interpreter are not, so pure work and reads here
    need not stand aside for them."""
    global _next_door
    _next_door = shared


def serving_next_door() -> bool:
    """In a process watching a serving process (`watch_serving_process`): whether it has requests in
    progress now."""
    return _next_door is not None and _next_door[0] > 0


def wait_while_next_door_serves(max_wait_seconds: float = MAX_WAIT_SECONDS) -> None:
    """Blocking, in a process with nothing else to do (the sync process's writer process): while the
    serving process next door has requests in progress, wait for them to finish, for `max_wait_seconds`
    at most."""
    deadline = time.monotonic() + max_wait_seconds
    while serving_next_door() and time.monotonic() < deadline:
        time.sleep(_NEXT_DOOR_POLL_SECONDS)


def beside_serving_process() -> bool:
    """Whether this is a sync process (`watch_serving_process`): it serves no requests of its own."""
    return _next_door is not None


async def yield_to_requests_before_writing(max_wait_seconds: float = MAX_WAIT_SECONDS) -> None:
    """Before a bulk write takes the database's write lock: `yield_to_requests`, and in a sync process
    also wait while the serving process it works for has requests in progress (for `max_wait_seconds` at
    most), as each of them may be about to write."""
    await yield_to_requests(max_wait_seconds)
    if _next_door is None:
        return
    deadline = time.monotonic() + max_wait_seconds
    # Another process's counter: there is nothing to await but time.
    while serving_next_door() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(_NEXT_DOOR_POLL_SECONDS)


def in_request() -> bool:
    """Whether the running code is part of handling a request."""
    return _IN_REQUEST.get()


async def yield_to_requests(max_wait_seconds: float = MAX_WAIT_SECONDS) -> None:
    """Give the event loop a turn, and wait while requests are being served (for `max_wait_seconds` at
    most); within a request, only the turn."""
    if _serving == 0 or _IN_REQUEST.get():
        await asyncio.sleep(0)
        return
    loop = asyncio.get_running_loop()
    turn: asyncio.Future[None] = loop.create_future()
    _waiting.append(turn)
    timer = loop.call_later(max_wait_seconds, _wake, turn)
    try:
        await turn
    finally:
        timer.cancel()
        if turn in _waiting:
            _waiting.remove(turn)


async def in_background_thread(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`work(*args, **kwargs)` in a thread that stands aside while this process serves requests.

    Pure work after a sync (the rule pass, the figures, the console's forecast and queue) takes a large
    company's books a second of CPU. On the event loop it held every request behind it; in a plain thread
    it shared the interpreter with them evenly: each time a request's thread let go of the interpreter (at
    every SQLite statement, at every wait for the network) it waited up to 5 ms to get it back, and at 100
    keypresses a second they queued for a second. This thread checks, at every call and return, whether a
    request is being served, and sleeps while one is; after sleeping `MAX_WAIT_SECONDS` with requests
    still in progress it runs as long without stopping (a request may be waiting for this very work), so it
    moves on a server that is never idle. The interpreter hands over within half a millisecond while it
    runs. The checks make the work about twice as slow; requests do not wait for it. Within a request,
    use `pure_work`, which runs the work at once."""
    return await asyncio.to_thread(_standing_aside, work, args, kwargs)


async def pure_work(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`work(*args, **kwargs)`, pure CPU: within a request (which waits for it anyway) at once, on the
    event loop; otherwise in a background thread that stands aside for requests (`in_background_thread`)."""
    if in_request():
        return work(*args, **kwargs)
    return await in_background_thread(work, *args, **kwargs)


_quick_switches = 0
_quick_switches_lock = threading.Lock()
_switch_interval_before = sys.getswitchinterval()


@contextmanager
def quick_interpreter_switches() -> Iterator[None]:
    """While any of these is open, a thread waiting for the interpreter gets it within half a millisecond
    (Python's default: 5 ms).

    Around work that keeps another thread busy beside the event loop: a background thread, or a sync's
    writes in the database driver's thread, which lets go of the interpreter at every SQLite call and
    waits to take it back after each while the loop maps the next page. At 5 ms a wait, a transaction of
    a few statements held SQLite's write lock 4-15 ms instead of one or two."""
    global _quick_switches, _switch_interval_before
    with _quick_switches_lock:
        if _quick_switches == 0:
            _switch_interval_before = sys.getswitchinterval()
            sys.setswitchinterval(_BACKGROUND_SWITCH_SECONDS)
        _quick_switches += 1
    try:
        yield
    finally:
        with _quick_switches_lock:
            _quick_switches -= 1
            if _quick_switches == 0:
                sys.setswitchinterval(_switch_interval_before)


def _standing_aside(work: Callable[..., T], args: Any, kwargs: Any) -> T:
    with quick_interpreter_switches():
        sys.setprofile(_give_way)  # this thread's only
        try:
            return work(*args, **kwargs)
        finally:
            sys.setprofile(None)


class SharedLock:
    """A lock taken both by requests and by work in a background thread (`in_background_thread`), which does
    not stand aside while it holds one: a request waiting for the lock would wait for the background
    thread, and the background thread for the request."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()
        _held.locks = getattr(_held, "locks", 0) + 1

    def __exit__(self, *_exc: object) -> None:
        _held.locks -= 1
        self._lock.release()


_held = threading.local()


def _give_way(_frame: FrameType, _event: str, _arg: Any) -> None:
    if _serving and not getattr(_held, "locks", 0):
        now = time.monotonic()
        if now < getattr(_held, "running_until", 0.0):
            return
        deadline = now + MAX_WAIT_SECONDS
        while _serving and time.monotonic() < deadline:
            time.sleep(_BACKGROUND_PAUSE_SECONDS)
        if _serving:
            # Waited in full and requests are still being served: one of them may be waiting for this
            # very work (a page that needs the figures it computes). Run as long as it waited before
            # standing aside again, so that such a request waits twice as long, not for ever.
            _held.running_until = time.monotonic() + MAX_WAIT_SECONDS


def _wake(turn: asyncio.Future[None]) -> None:
    if not turn.done() and not turn.get_loop().is_closed():
        turn.set_result(None)


def _wake_all() -> None:
    waiting = list(_waiting)
    _waiting.clear()
    for turn in waiting:
        _wake(turn)


async def row_batches(
    session: AsyncSession,
    statement: Any,
    size: int,
    *,
    mappings: bool = False,
    hurried: Callable[[], bool] | None = None,
) -> AsyncIterator[Sequence[Any]]:
    """The rows of `statement` in batches of `size` (SERVING_BATCH while serving requests), with a turn of
    the event loop before each.

    Outside a request (the refresh after a sync) each batch is fetched in its turn, after waiting for the
    requests in progress (unless `hurried()` says a request waits for these very rows): fetching a large
    table at once held the loop for a tenth of a second. Within a request, which waits for the rows
    anyway, they are fetched at once (faster)."""
    if in_request():
        result = await session.execute(statement)
        rows = (result.mappings() if mappings else result).all()
        for start in range(0, len(rows), size):
            await yield_to_requests()
            yield rows[start : start + size]
        return
    streamed = await session.stream(statement)
    source = streamed.mappings() if mappings else streamed
    while True:
        if hurried is not None and hurried():
            await asyncio.sleep(0)
        else:
            await yield_to_requests()
        # Fetched after the wait, not before it, and fewer at a time while requests keep coming: a turn
        # is the fetch plus the caller's work on the batch, and a request arriving meanwhile waits for it.
        batch = await source.fetchmany(min(size, SERVING_BATCH) if recently_serving() else size)
        if not batch:
            return
        yield batch
