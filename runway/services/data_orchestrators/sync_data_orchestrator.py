"""Data orchestrator: sync requests, webhook deliveries and sync status — the state SmartSync keeps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domains.core import repository as core
from domains.core.db import Database
from domains.qbo import repository as repo
from domains.qbo.smart_sync import ProgressCallback, SmartSyncService, SyncOutcome
from domains.qbo.webhooks import WebhookError, parse_events, realms_in, verify_signature


class WebhookRejectedError(Exception):
    """The delivery was not signed with our verifier token (answered 401)."""


class WebhookMalformedError(ValueError):
    """Signed correctly but not a body QBO sends (answered 400)."""


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    realms: tuple[str, ...]
    runs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    kind: str
    trigger: str
    status: str
    entities_done: int
    entities_total: int
    rows_written: int
    quarantined: int
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SyncState:
    connection_status: str | None
    last_error: str | None
    last_success_at: dt.datetime | None
    runs: tuple[RunRecord, ...]
    quarantined: tuple[tuple[str, str, str], ...]


class SyncDataOrchestrator:
    def __init__(self, db: Database, smart_sync: SmartSyncService | None, webhook_verifier: str) -> None:
        self.db = db
        self.smart_sync = smart_sync
        self.webhook_verifier = webhook_verifier

    def _sync(self) -> SmartSyncService:
        if self.smart_sync is None:
            raise RuntimeError("QuickBooks sync is not running in this process")
        return self.smart_sync

    async def receive_webhook(self, body: bytes, signature: str | None) -> WebhookReceipt:
        """Verify, then queue one incremental sync per realm; repeats and reordering change nothing."""
        if not verify_signature(self.webhook_verifier, body, signature):
            raise WebhookRejectedError
        try:
            realms = realms_in(parse_events(body))
        except WebhookError as exc:
            raise WebhookMalformedError(str(exc)) from exc
        runs = []
        for realm_id in realms:
            async with self.db.read() as session:
                business_ids = await repo.business_ids_for_realm(session, realm_id)
            for business_id in business_ids:
                runs.append(await self._sync().request_sync(business_id, trigger="webhook"))
        return WebhookReceipt(tuple(realms), tuple(runs))

    async def request_sync(self, business_id: int, *, full: bool = False, trigger: str = "manual") -> int:
        return await self._sync().request_sync(business_id, full=full, trigger=trigger)

    async def sync_now(
        self,
        business_id: int,
        *,
        full: bool = False,
        trigger: str = "cli",
        on_progress: ProgressCallback | None = None,
    ) -> SyncOutcome:
        return await self._sync().sync_now(business_id, full=full, trigger=trigger, on_progress=on_progress)

    async def connected_businesses(self) -> list[tuple[int, str]]:
        """(id, name) of every business whose QBO connection works, by name."""
        async with self.db.read() as session:
            ids = await repo.connected_business_ids(session)
            found = []
            for business_id in ids:
                business = await core.get_business(session, business_id)
                if business is not None:
                    found.append((business_id, business.name))
        return sorted(found, key=lambda pair: pair[1])

    async def state(self, business_id: int) -> SyncState:
        async with self.db.read() as session:
            connection = await repo.get_connection(session, business_id)
            runs = await repo.latest_runs(session, business_id)
            quarantined = await repo.list_quarantine(session, business_id)
            last_ok = await repo.last_success_at(session, business_id)
        return SyncState(
            connection_status=connection.status if connection else None,
            last_error=connection.last_error if connection else None,
            last_success_at=last_ok,
            runs=tuple(
                RunRecord(
                    r.id,
                    r.kind,
                    r.trigger,
                    r.status,
                    r.entities_done,
                    r.entities_total,
                    r.rows_written,
                    r.quarantined,
                    r.error,
                    r.created_at,
                    r.finished_at,
                )
                for r in runs
            ),
            quarantined=tuple((q.entity, q.qbo_id, q.reason) for q in quarantined),
        )
