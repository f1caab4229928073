"""Web layer: the serving process's sync process — the runs its sync worker finds, carried out beside it.

A full sync of a large company is seconds of CPU: receiving QBO's pages, mapping them, writing them. In the
serving process that work shared one interpreter with the requests, and every keypress during a sync waited
its turn behind some of it (p99 three times the idle one). Here the serving process's `SyncWorker` still
finds the due runs and keeps its run scopes and cache listeners around each (the screens show the books of
just before until its caches are filled again), but the run itself, with its run listeners (the stored
summaries), is carried out in this child process: another interpreter, background work to the kernel
(`domains.core.scheduling.in_background`: niced, in the idle class, off the serving thread's
processor). The two share SQLite's write lock, which the sync's writes leave to requests in progress
(`foreground.watch_serving_process`). Those writes run in the child's writer process, started before the
child nices itself (`domains.core.sqlite_writer`): niced, the child would hold that lock while it waited
for a processor.

The child is started with the server and is told one run at a time over a pipe; it answers each run's
`SyncOutcome`. If it dies, the run it had is abandoned (its lease lets the next round take it over) and
the next run starts a new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import signal
from multiprocessing.connection import Connection
from typing import Any

import structlog
from sqlalchemy import make_url

from app.observability import configure_logging
from app.settings import Settings
from domains.core import foreground, scheduling
from domains.core.child_processes import PipedChild
from domains.core.db import Database, is_sqlite
from domains.core.sqlite_writer import SqliteWriterProcess
from domains.qbo.page_mapping import ready_mapping_process, stop_mapping_process
from domains.qbo.smart_sync import SyncOutcome
from domains.synced import ready_to_restore

log = structlog.get_logger("runway.qbo.sync_process")

# How long a stopping server waits for the child to finish on its own before it is terminated.
STOP_SECONDS = 5.0


class SyncProcessError(RuntimeError):
    """The sync process died or failed to carry out a run (the run is taken over once its lease expires)."""


class SyncProcess(PipedChild):
    """A child process that carries out sync runs for this (serving) process, one at a time.

    `settings` as this process has them; `qbo_base_url` where it reaches QBO (the built-in sandbox's URL
    in sandbox mode, which this process serves)."""

    def __init__(self, settings: Settings, qbo_base_url: str) -> None:
        self.settings = dataclasses.replace(settings, qbo_base_url=qbo_base_url or None)
        super().__init__()
        # The run the child is carrying out, if any.
        self._in_flight: int | None = None
        self._lock = asyncio.Lock()

    def start(self) -> None:
        """Start the child now (it imports and connects in about a second); `execute` starts it if needed."""
        if self.running:
            return
        self._discard()
        self._spawn(
            _sync_process_main,
            self.settings,
            foreground.share_serving_state(self._context),
            name="runway-sync",
        )
        log.info("sync process started", pid=self.pid)

    async def execute(self, run_id: int) -> SyncOutcome:
        """Carry out run `run_id` in the child and answer its outcome (the run is claimed there)."""
        async with self._lock:
            if not self.running:
                await asyncio.to_thread(self.start)
            runs = self._pipe
            assert runs is not None
            # Left set if this is cancelled (the server stops): `stop` then tells the child to stop the run.
            self._in_flight = run_id
            try:
                runs.send(run_id)
                answer = await asyncio.to_thread(runs.recv)
            except (EOFError, OSError) as exc:
                self._in_flight = None
                self._discard()
                raise SyncProcessError(f"the sync process ended during run {run_id}") from exc
            self._in_flight = None
        kind, value = answer
        if kind == "failed":
            raise SyncProcessError(f"the sync process could not carry out run {run_id}: {value}")
        assert isinstance(value, SyncOutcome)
        return value

    async def stop(self) -> None:
        """End the child: an idle one when the pipe closes; one carrying out a run is told to stop it (a
        run is resumed from its last committed page once its lease expires)."""
        await asyncio.to_thread(self._discard)

    def _discard(self) -> None:
        in_flight, self._in_flight = self._in_flight, None
        if self.running and in_flight is not None:
            assert self._process is not None
            self._process.terminate()  # the child cancels its run (see `_carry_out_runs`)
        self._end(STOP_SECONDS)  # an idle child reads the end of the pipe and ends


def _sync_process_main(runs: Connection, settings: Settings, serving_state: Any) -> None:
    """The child: carries out each run it is sent until the pipe closes."""
    # Ctrl+C in a terminal reaches the whole process group: the serving process stops this one.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(settings.log_level, json=settings.log_json)
    # Started before this process nices itself, so that it keeps the priority this one had.
    writer = _writer_process(settings, serving_state)
    # Requests come first: this process and all it starts (its mapping process) are background work.
    scheduling.in_background()
    foreground.watch_serving_process(serving_state)
    foreground.tune_garbage_collector()
    try:
        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(_carry_out_runs(settings, runs, writer))
    finally:
        if writer is not None:
            writer.stop()


def _writer_process(settings: Settings, serving_state: Any) -> SqliteWriterProcess | None:
    """On a SQLite file, the process that runs the sync's bulk writes (`domains.core.sqlite_writer`)."""
    if not is_sqlite(settings.database_url):
        return None
    url = make_url(settings.database_url)
    if not url.database or url.database == ":memory:":
        return None
    # What it is sent are parts of pages of synced rows, prepared for the engine's dialect.
    warm_up = functools.partial(ready_to_restore, url.drivername)
    writer = SqliteWriterProcess(url.database, serving_state, warm_up=warm_up)
    writer.start()
    return writer


async def _carry_out_runs(settings: Settings, runs: Connection, writer: SqliteWriterProcess | None) -> None:
    from app.qbo_runtime import QboRuntime  # the runtime imports this module

    # Told to stop (the server stops during a run): the run is cancelled, its open transaction rolled back.
    this = asyncio.current_task()
    assert this is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, this.cancel)
    database = Database(settings.database_url)
    database.bulk_writer = writer
    runtime = QboRuntime(settings, database)
    try:
        smart_sync = await runtime.start(map_in_process=True)
        await ready_mapping_process()
        while True:
            try:
                run_id = await asyncio.to_thread(runs.recv)
            except (EOFError, OSError):
                return  # the serving process closed the pipe, or ended
            try:
                answer: tuple[str, object] = ("done", await smart_sync.execute(run_id))
            except Exception as exc:  # told to the serving process's worker, which logs it
                log.exception("sync run failed in the sync process", run_id=run_id)
                answer = ("failed", str(exc) or type(exc).__name__)
            try:
                runs.send(answer)
            except (EOFError, OSError):
                return
    finally:
        await runtime.stop()
        await database.dispose()
        await asyncio.to_thread(stop_mapping_process)
