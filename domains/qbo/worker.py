"""Domain (QBO): the background sync worker — scheduled incremental syncs and queued runs, via leases.

The sync_runs table is the job queue (see repository.claim_run): several workers, in one process or
many, never run the same job twice, and a dead worker's run is taken over once its lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import structlog

from domains.qbo import repository as repo
from domains.qbo.page_mapping import ready_mapping_process
from domains.qbo.smart_sync import RunExecutor, SmartSyncService

log = structlog.get_logger("runway.qbo.worker")

DEFAULT_INTERVAL = dt.timedelta(minutes=15)


class SyncWorker:
    """Polls for due work every `poll_seconds`; schedules a sync per connected business every `interval`.

    `carried_out_by`: the runs themselves are carried out there (a serving process's sync process);
    this worker finds them, and keeps this process's run scopes and cache listeners around them."""

    def __init__(
        self,
        smart_sync: SmartSyncService,
        *,
        interval: dt.timedelta = DEFAULT_INTERVAL,
        poll_seconds: float = 2.0,
        carried_out_by: RunExecutor | None = None,
    ) -> None:
        self.smart_sync = smart_sync
        self.interval = interval
        self.poll_seconds = poll_seconds
        self.carried_out_by = carried_out_by
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def schedule_due(self) -> list[int]:
        """Queue an incremental sync for every connected business not synced within `interval`."""
        now = self.smart_sync.clock.now()
        async with self.smart_sync.db.read() as session:
            due = await repo.businesses_due_for_sync(session, older_than=now - self.interval)
        for business_id in due:
            await self.smart_sync.request_sync(business_id, trigger="schedule")
        return due

    async def tick(self) -> int:
        """One round: schedule what is due, then run every claimable run. Returns runs executed."""
        await self.schedule_due()
        outcomes = await self.smart_sync.run_due(carried_out_by=self.carried_out_by)
        return len(outcomes)

    async def run_forever(self) -> None:
        log.info("sync worker started", worker=self.smart_sync.worker_id)
        if self.smart_sync.map_in_process:
            await ready_mapping_process()
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception as exc:  # one bad round must not stop syncing for every business
                log.exception("sync worker round failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_seconds)
        log.info("sync worker stopped")

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self.run_forever(), name="runway-sync-worker")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            # A sync in progress finishes its page; its lease lets another worker resume the rest.
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
