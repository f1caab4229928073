"""Domain core: a writer process, which runs the bulk write transactions of a process niced below it.

Why a process of its own: a sync process is niced below the serving process, so that its CPU (receiving
pages, handing them to the mapping process, taking its answers back) never takes a processor from a
request. But its writes hold SQLite's write lock, which every request's write needs; a niced process
holding it waits for a processor, and on a busy machine the 2 ms a part takes became 20-45 ms. The writer
is started before the sync process nices itself and keeps its priority: it does nothing but run the
writes it is sent, each when the serving process has no request in progress, and while it holds the lock
it is in the real-time class where the system allows it (`scheduling.holding_the_write_lock`), so it
holds the lock for as long as the SQL takes.

A write is sent as a picklable callable taking the `sqlite3.Connection` (a `functools.partial` of a
module-level function), run in a transaction of its own, and its result (or SQLite's error) sent back.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import signal
import sqlite3
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import structlog

from domains.core import foreground, scheduling
from domains.core.child_processes import PipedChild
from domains.core.db import configure_sqlite_connection, in_write_transaction

log = structlog.get_logger("runway.db.writer")

T = TypeVar("T")

# How long a write waits for another connection's lock inside SQLite (the writer has nothing else to do).
BUSY_TIMEOUT_MS = 10_000
# How long a stopping writer may take to finish the write it has before it is killed.
STOP_SECONDS = 5.0


class WriterProcessError(RuntimeError):
    """The writer process ended, or could not be reached; the write it had was not confirmed."""


class SqliteWriterProcess(PipedChild):
    """The parent's side: one write at a time, sent over a pipe and awaited without blocking the loop.

    `database_path` is the SQLite file; `serving_state` the serving process's shared requests in progress
    (`foreground.share_serving_state`), or None; `warm_up` what the writer calls as it starts, to load
    what the work it will be sent needs (modules, dialects), so that the first write costs what the next
    does; `max_wait_seconds` the longest a write waits for the requests in progress."""

    def __init__(
        self,
        database_path: str,
        serving_state: Any,
        *,
        warm_up: Callable[[], object] | None = None,
        max_wait_seconds: float = foreground.MAX_WAIT_SECONDS,
    ) -> None:
        self.database_path = database_path
        self._serving_state = serving_state
        self._max_wait_seconds = max_wait_seconds
        self._warm_up = warm_up
        super().__init__()
        self._lock: asyncio.Lock | None = None

    def start(self) -> None:
        """Start the process now, at this process's priority (it imports for about a second meanwhile)."""
        if self.running:
            return
        self.stop()
        self._spawn(
            _writer_main,
            self.database_path,
            self._serving_state,
            self._warm_up,
            self._max_wait_seconds,
            name="runway-writer",
            daemon=True,
        )
        log.info("writer process started", pid=self.pid)

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` in a write transaction of its own in the writer process: its result; a
        `sqlite3.Error` raised there is raised here as the same class with the same message.

        Raises:
            WriterProcessError: the process ended before it answered (SQLite rolled the transaction back
                unless it had committed), or `work` raised something other than SQLite's errors.
        """
        payload = pickle.dumps(work, pickle.HIGHEST_PROTOCOL)  # one that does not pickle fails here
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self.running:
                self.start()
            pipe = self._pipe
            assert pipe is not None
            try:
                pipe.send_bytes(payload)
                kind, value = await _received(pipe)
            except (EOFError, OSError) as exc:
                self.stop()
                raise WriterProcessError("the writer process ended during a write") from exc
            except BaseException:
                # Cancelled while the write was under way: its answer would be taken for the next one's.
                # The process goes (SQLite rolls back a transaction it leaves open) and the next write
                # starts another.
                self.stop(at_once=True)
                raise
        if kind == "ok":
            return value
        if kind == "sqlite":
            name, message, code = value
            error = getattr(sqlite3, name, sqlite3.Error)(message)
            error.sqlite_errorcode = code
            raise error
        raise WriterProcessError(f"the write failed in the writer process: {value}")

    def stop(self, *, at_once: bool = False) -> None:
        """End the process: it reads the end of the pipe and returns (killed if it does not, in seconds;
        `at_once`: killed now)."""
        self._end(0 if at_once else STOP_SECONDS)


async def _received(pipe: Connection) -> Any:
    """The next message on `pipe`, awaited on the event loop (no thread: the loop wakes when it is there)."""
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    descriptor = pipe.fileno()
    loop.add_reader(descriptor, readable.set)
    try:
        while not pipe.poll():
            readable.clear()
            await readable.wait()
    finally:
        loop.remove_reader(descriptor)
    return pipe.recv()


def _writer_main(
    pipe: Connection,
    database_path: str,
    serving_state: Any,
    warm_up: Callable[[], object] | None,
    max_wait_seconds: float,
) -> None:
    """The child: runs each write it is sent until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the group; the parent stops this one
    if warm_up is not None:
        warm_up()
    if serving_state is not None:
        foreground.watch_serving_process(serving_state)
    database = sqlite3.connect(database_path, isolation_level=None, check_same_thread=False)
    configure_sqlite_connection(database, busy_timeout_ms=BUSY_TIMEOUT_MS)
    try:
        while True:
            try:
                work = pipe.recv()
            except (EOFError, OSError):
                return
            answer = _answer(work, database, max_wait_seconds)
            try:
                pipe.send(answer)
            except (EOFError, OSError):
                return
    finally:
        with contextlib.suppress(sqlite3.Error):
            database.close()


def _answer(
    work: Callable[[sqlite3.Connection], Any], database: sqlite3.Connection, max_wait_seconds: float
) -> tuple[str, Any]:
    # Requests in progress next door may each be about to write: they go first.
    foreground.wait_while_next_door_serves(max_wait_seconds)
    try:
        with scheduling.holding_the_write_lock():
            result = in_write_transaction(work, database)
    except sqlite3.Error as error:
        return "sqlite", (type(error).__name__, str(error), getattr(error, "sqlite_errorcode", None))
    except Exception as error:  # told to the parent, which raises it
        return "error", repr(error)
    return "ok", result
