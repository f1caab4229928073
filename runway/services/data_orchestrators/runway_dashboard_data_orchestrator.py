"""Data orchestrator: the runway dashboard's data — the business's figures (today's from the stored summary
row while it is current, another date's computed), its QuickBooks connection, its sync runs and their
progress — and "sync now" (through SmartSync).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domains.core.db import Database
from domains.qbo import repository as qbo_repo
from domains.qbo.models import SyncRun
from domains.qbo.smart_sync import SmartSyncService
from domains.summaries import repository as summaries_repo
from runway.services.data_orchestrators.business_summary_data_orchestrator import (
    BusinessSummaryDataOrchestrator,
    SummaryRecord,
    stored_if_current,
)
from runway.services.data_orchestrators.runway_inputs import BusinessNotFoundError


class SyncUnavailableError(RuntimeError):
    """This process runs no QuickBooks sync (the app was started without its QBO runtime)."""


class NotConnectedError(RuntimeError):
    """The business has no working QuickBooks connection, so it cannot be synced."""


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """The business's QuickBooks link: not_connected | connected | reconnect_needed | disconnected."""

    status: str
    realm_id: str | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class RunState:
    id: int
    status: str
    kind: str
    trigger: str
    entities_done: int
    entities_total: int
    error: str | None
    finished_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.status in ("pending", "running")


@dataclass(frozen=True, slots=True)
class SyncState:
    """The run in progress (if any), the latest run, and when a sync last succeeded."""

    active: RunState | None
    latest: RunState | None
    last_success_at: dt.datetime | None


def _run_state(run: SyncRun) -> RunState:
    return RunState(
        run.id,
        run.status,
        run.kind,
        run.trigger,
        run.entities_done,
        run.entities_total,
        run.error,
        run.finished_at,
    )


class RunwayDashboardDataOrchestrator:
    def __init__(self, db: Database, smart_sync: SmartSyncService | None) -> None:
        self.db = db
        self.smart_sync = smart_sync

    async def figures(self, business_id: int, *, as_of: dt.date | None, now: dt.datetime) -> SummaryRecord:
        """Today's figures (`as_of` None) come from the summary row, which every sync, decision and hygiene
        change makes out of date and which is then recomputed once; another date's are computed.

        Raises:
            BusinessNotFoundError: No such business.
        """
        summaries = BusinessSummaryDataOrchestrator(self.db)
        if as_of is not None:
            return await summaries.compute(business_id, as_of=as_of, now=now)
        record = await summaries.current(business_id, now=now)
        if record is None:
            raise BusinessNotFoundError(business_id)
        return record

    async def page(
        self, business_id: int, *, as_of: dt.date | None, now: dt.datetime
    ) -> tuple[ConnectionState, SyncState, SummaryRecord]:
        """Everything the dashboard shows, in two statements while the stored figures are current.

        Raises:
            BusinessNotFoundError: No such business.
        """
        async with self.db.read() as session:
            rows = await summaries_repo.dashboard_rows(session, business_id)
            runs = await summaries_repo.active_and_latest_runs(session, business_id)
        if not rows:
            raise BusinessNotFoundError(business_id)
        first = tuple(rows[0])
        connection_status, realm_id, last_error, last_ok, summary = first[4:9]
        weeks = [row[9] for row in rows if row[9] is not None]
        active = next((run for run in runs if run.status in ("pending", "running")), None)
        sync = SyncState(
            active=_run_state(active) if active is not None else None,
            latest=_run_state(runs[0]) if runs else None,
            last_success_at=last_ok,
        )
        connection = (
            ConnectionState("not_connected", None, None)
            if connection_status is None
            else ConnectionState(connection_status, realm_id, last_error)
        )
        summaries = BusinessSummaryDataOrchestrator(self.db)
        record: SummaryRecord | None
        if as_of is not None:
            record = await summaries.compute(business_id, as_of=as_of, now=now)
        else:
            # Out of date (or never stored): computed once now, and stored for the next views.
            record = stored_if_current(summary, weeks, first, now) or await summaries.refresh_summary(
                business_id, now=now
            )
        if record is None:
            raise BusinessNotFoundError(business_id)
        return connection, sync, record

    async def connection(self, business_id: int) -> ConnectionState:
        async with self.db.read() as session:
            connection = await qbo_repo.get_connection(session, business_id)
        if connection is None:
            return ConnectionState("not_connected", None, None)
        return ConnectionState(connection.status, connection.realm_id, connection.last_error)

    async def sync_state(self, business_id: int, run_id: int | None = None) -> SyncState:
        """Runs of this business only; `run_id` (a run being watched) is looked up within it."""
        async with self.db.read() as session:
            active = await qbo_repo.active_run(session, business_id)
            latest_runs = await qbo_repo.latest_runs(session, business_id, limit=1)
            watched = await qbo_repo.get_run(session, business_id, run_id) if run_id is not None else None
            last_ok = await qbo_repo.last_success_at(session, business_id)
        latest = watched or (latest_runs[0] if latest_runs else None)
        return SyncState(
            active=_run_state(active) if active is not None else None,
            latest=_run_state(latest) if latest is not None else None,
            last_success_at=last_ok,
        )

    async def request_sync(self, business_id: int) -> int:
        """Queue a sync (or join the one already queued); the worker runs it. Returns the run id."""
        if self.smart_sync is None:
            raise SyncUnavailableError("QuickBooks sync is not running in this process")
        state = await self.connection(business_id)
        if state.status != "connected":
            raise NotConnectedError(state.status)
        return await self.smart_sync.request_sync(business_id, trigger="manual")
