"""Domain (QBO): SmartSyncService — the only code that talks to QuickBooks.

It owns tokens (through TokenProvider), per-realm rate limits, retries with backoff and jitter, full sync by
query paging, incremental sync by CDC with per-entity cursors, quarantine of malformed entities, sync-run
records with leases (a crash resumes from the last committed page), and every write with SyncToken and
requestid. Orchestrators call it; experiences never do.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import random
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence, Sized
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import msgspec
import structlog
from sqlalchemy import Select, Table, select, update

from domains.core import foreground
from domains.core import repository as core
from domains.core.db import Database
from domains.core.driver_statements import DriverStatement, run_bound
from domains.core.models import Business
from domains.qbo import repository as repo
from domains.qbo.client import QboClient
from domains.qbo.clock import Clock, SystemClock
from domains.qbo.config import QboConfig
from domains.qbo.crypto import TokenCipher
from domains.qbo.errors import (
    QboAuthenticationError,
    QboError,
    QboServerError,
    QboStaleObjectError,
    QboThrottledError,
    QboTransportError,
)
from domains.qbo.mappers import MAPPERS, map_company_info, map_preferences
from domains.qbo.models import QuarantinedEntity, SyncRun
from domains.qbo.page_mapping import MappedBatch, MappedPage, PageMapper, map_objects
from domains.qbo.throttle import RealmThrottle
from domains.qbo.tokens import Credentials, TokenProvider
from domains.synced import (
    PreparedRows,
    SyncedEntity,
    delete_entities,
    deletion_statements,
    get_entity,
    json_safe,
    stamp_alone_on_sqlite,
    unchanged_on_sqlite,
    upsert_alone_on_sqlite,
    upsert_entities,
)

log = structlog.get_logger("runway.qbo.sync")
T = TypeVar("T")

# Parents before children, so a page of bills finds its vendors already there: a full sync commits every
# name list before any transaction, and fetches (and, within each group, commits) in this order of priority.
SYNC_ENTITIES: tuple[str, ...] = (
    "Account",
    "Term",
    "Vendor",
    "Customer",
    "Bill",
    "BillPayment",
    "Invoice",
    "Payment",
    "Purchase",
    "Deposit",
    "SalesReceipt",
    "VendorCredit",
    "CreditMemo",
)
# Name lists hide inactive records unless the query asks for them.
NAME_LISTS = frozenset({"Account", "Term", "Vendor", "Customer"})
PAGE_SIZE = 1000
CDC_LOOKBACK_LIMIT = dt.timedelta(days=29)
CDC_MAX_OBJECTS = 1000
# CDC windows overlap the last one a little: QBO's clock and ours differ, and re-applying is harmless.
CDC_OVERLAP = dt.timedelta(minutes=5)
LEASE = dt.timedelta(seconds=120)
MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 30.0
# Query pages held ahead of the one being committed, across entities (each is 2-5 MB once decoded).
PREFETCH_PAGES = 8
# Query requests outstanding at once: enough to keep QBO's 10 requests/s busy at about 0.35 s a round trip.
MAX_IN_FLIGHT = 5
# On SQLite, whose write lock covers the whole database, a full sync's page is written in transactions of
# this many rows (about a millisecond each) while the process is serving requests, so that a request's
# write waits for one of them rather than for the whole page (40-70 ms). Parts of 50 rows held the lock
# 2.7 ms (p50; p90 7.5): a keypress that met one waited that long. The page's position commits after its
# last part: a sync stopped in between writes the page again, which the upsert makes harmless.
SQLITE_WRITE_PART = 15
# Rows stored exactly as delivered are only stamped (the sweep keeps what a run stamped), this many per
# transaction: about as long a hold as a part's upsert.
SQLITE_STAMP_PART = 60


class SyncLeaseLostError(Exception):
    """Another worker took this run over (our lease expired); stop without touching it further."""


@dataclass(frozen=True, slots=True)
class ConflictError(Exception):
    """QBO refused a write because the object changed (5010); `current` is QBO's object now."""

    entity: str
    qbo_id: str
    current: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.entity} {self.qbo_id} was changed in QuickBooks by someone else"


@dataclass(frozen=True, slots=True)
class WriteResult:
    entity: str
    qbo_id: str
    sync_token: str
    obj: dict[str, Any]
    request_id: str
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    run_id: int
    status: str
    kind: str
    rows_written: int
    quarantined: int
    error: str | None


ProgressCallback = Callable[[str, int, int], Awaitable[None] | None]
# Told about every finished run (succeeded or failed): (business_id, outcome).
RunListener = Callable[[int, "SyncOutcome"], Awaitable[None]]
RunScope = Callable[[int], AbstractAsyncContextManager[None]]
# Carries out a claimable run somewhere else (a sync process) and answers its outcome: (run_id) -> outcome.
RunExecutor = Callable[[int], Awaitable["SyncOutcome"]]


def new_request_id() -> str:
    """A QBO requestid: unique per company, at most 50 characters."""
    return uuid.uuid4().hex


def _parse_qbo_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _qbo_timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class SmartSyncService:
    """Sync and write-back for every business, over one shared httpx client.

    Holds no business state: progress, cursors, leases, pending writes and tokens live in the database,
    so any process (web app, worker, CLI) can pick up where another stopped.
    """

    def __init__(
        self,
        db: Database,
        config: QboConfig,
        cipher: TokenCipher,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        worker_id: str | None = None,
        throttle: RealmThrottle | None = None,
        map_in_process: bool = False,
    ) -> None:
        """`map_in_process`: a full sync's big pages are mapped by a mapping process (`PageMapper`), for
        long-lived processes that sync (their `SyncWorker` starts it)."""
        self.db = db
        self.map_in_process = map_in_process
        self.config = config
        self.clock = clock or SystemClock()
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        self.client = QboClient(config.base_url, http=self.http)
        self.tokens = TokenProvider(db, cipher, config.oauth, self.http, self.clock)
        self.throttle = throttle or RealmThrottle(self.clock)
        self.worker_id = worker_id or f"sync-{uuid.uuid4().hex[:12]}"
        self._run_listeners: list[RunListener] = []
        self._cache_listeners: list[RunListener] = []
        self._run_scopes: list[RunScope] = []
        self._random = random.Random()

    def add_run_listener(self, listener: RunListener) -> None:
        """Call `listener` after each run this service carries out itself (e.g. to refresh the stored
        summaries: follow-ups written to the database, once per run, by the process that ran it)."""
        self._run_listeners.append(listener)

    def add_cache_listener(self, listener: RunListener) -> None:
        """Call `listener` after the run listeners of each run this service carries out, and after each run
        it has carried out elsewhere (`run_due(carried_out_by=...)`): it fills this process's caches."""
        self._cache_listeners.append(listener)

    def add_run_scope(self, scope: RunScope) -> None:
        """Enter `scope(business_id)` around each run this service carries out, from its start until its
        listeners have finished (e.g. to tell screens that the business's books are about to change)."""
        self._run_scopes.append(scope)

    async def _notify(
        self, business_id: int, outcome: SyncOutcome, *, caches_only: bool = False
    ) -> SyncOutcome:
        listeners = self._cache_listeners if caches_only else [*self._run_listeners, *self._cache_listeners]
        for listener in listeners:
            try:
                await listener(business_id, outcome)
            except Exception as exc:  # a listener's failure must not turn a finished sync into a failed one
                log.exception("sync run listener failed", error=str(exc))
        return outcome

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    # --- calling QBO -----------------------------------------------------------------------------

    async def _call(self, business_id: int, operation: Callable[[Credentials], Awaitable[T]]) -> T:
        """One logical QBO call with throttling, token refresh and retries.

        Safe to retry: every read, and every write (each carries its requestid, so QBO replays it).
        """
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            creds = await self.tokens.credentials(business_id, force_refresh=refreshed and attempt == 2)
            await self.throttle.acquire(creds.realm_id)
            try:
                return await operation(creds)
            except QboAuthenticationError:
                if refreshed:
                    raise
                refreshed = True
                await self.tokens.credentials(business_id, force_refresh=True)
                continue
            except QboThrottledError as exc:
                retry_after = exc.extra.get("retry_after")
                self.throttle.throttled(
                    creds.realm_id, retry_after if isinstance(retry_after, float) else None
                )
                log.warning("qbo throttled; pausing realm", business_id=business_id, attempt=attempt)
                if attempt >= MAX_ATTEMPTS:
                    raise
            except (QboServerError, QboTransportError) as exc:
                if attempt >= MAX_ATTEMPTS:
                    raise
                delay = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (attempt - 1)) * (0.5 + self._random.random() / 2)
                log.warning(
                    "qbo call failed; retrying",
                    business_id=business_id,
                    attempt=attempt,
                    error=str(exc),
                    delay_s=round(delay, 2),
                )
                await self.clock.sleep(delay)

    # --- sync runs -------------------------------------------------------------------------------

    async def request_sync(self, business_id: int, *, full: bool = False, trigger: str = "manual") -> int:
        """Queue a sync (or join the one already queued or running). Returns the run id."""
        async with self.db.write() as session:
            cursors = await repo.get_cursors(session, business_id)
            kind = "full" if full or not cursors else "incremental"
            run, created = await repo.request_run(session, business_id, kind=kind, trigger=trigger)
            if created:
                run.entities_total = len(SYNC_ENTITIES)
            return run.id

    async def sync_now(
        self,
        business_id: int,
        *,
        full: bool = False,
        trigger: str = "manual",
        on_progress: ProgressCallback | None = None,
    ) -> SyncOutcome:
        """Queue and run a sync in this process, waiting for it (the CLI, first connection, tests)."""
        run_id = await self.request_sync(business_id, full=full, trigger=trigger)
        return await self.execute(run_id, on_progress=on_progress)

    async def run_due(
        self, *, limit: int = 10, carried_out_by: RunExecutor | None = None
    ) -> list[SyncOutcome]:
        """Claim and run every sync run that is due (pending, or abandoned by a dead worker).

        `carried_out_by`: each run is claimed and carried out by that executor (the serving process's
        sync process, which runs the run listeners); here, around it, the run scopes and then the cache
        listeners, as for a run carried out here."""
        async with self.db.read() as session:
            run_ids = await repo.claimable_run_ids(session, now=self.clock.now(), limit=limit)
        outcomes = []
        for run_id in run_ids:
            if carried_out_by is None:
                outcome = await self.execute(run_id)
            else:
                outcome = await self._execute_elsewhere(run_id, carried_out_by)
            if outcome.status != "skipped":
                outcomes.append(outcome)
        return outcomes

    async def _execute_elsewhere(self, run_id: int, carried_out_by: RunExecutor) -> SyncOutcome:
        async with self.db.read() as session:
            business_id = await session.scalar(select(SyncRun.business_id).where(SyncRun.id == run_id))
        if business_id is None:
            return SyncOutcome(run_id, "skipped", "", 0, 0, None)
        async with contextlib.AsyncExitStack() as scopes:
            for scope in self._run_scopes:
                await scopes.enter_async_context(scope(business_id))
            outcome = await carried_out_by(run_id)
            if outcome.status == "skipped":
                return outcome
            return await self._notify(business_id, outcome, caches_only=True)

    async def execute(self, run_id: int, *, on_progress: ProgressCallback | None = None) -> SyncOutcome:
        """Claim a run and carry it out. A run already claimed by a live worker is left alone."""
        async with self.db.write() as session:
            claimed = await repo.claim_run(
                session, run_id, worker=self.worker_id, lease=LEASE, now=self.clock.now()
            )
        async with self.db.read() as session:
            run = await session.get(SyncRun, run_id)
            assert run is not None
            business_id, kind, progress = run.business_id, run.kind, dict(run.progress or {})
            started_at = run.started_at or self.clock.now()
            counters = {"rows_written": run.rows_written, "quarantined": run.quarantined}
        if not claimed:
            return SyncOutcome(run_id, "skipped", kind, 0, 0, None)
        async with contextlib.AsyncExitStack() as scopes:
            for scope in self._run_scopes:
                await scopes.enter_async_context(scope(business_id))
            return await self._carry_out(
                run_id, business_id, kind, progress, counters, started_at, on_progress
            )

    async def _carry_out(
        self,
        run_id: int,
        business_id: int,
        kind: str,
        progress: dict[str, Any],
        counters: dict[str, int],
        started_at: dt.datetime,
        on_progress: ProgressCallback | None,
    ) -> SyncOutcome:
        """A claimed run from its first request to its listeners."""
        structlog.contextvars.bind_contextvars(business_id=business_id, sync_run_id=run_id)
        log.info("sync started", kind=kind)
        try:
            await self._refresh_company(business_id)
            if kind == "incremental":
                fell_back = await self._incremental(run_id, business_id, progress, counters, on_progress)
                if fell_back:
                    kind = "full"
                    progress = {}
                    async with self.db.write() as session:
                        await session.execute(
                            update(SyncRun).where(SyncRun.id == run_id).values(kind="full", progress={})
                        )
            if kind == "full":
                await self._full(run_id, business_id, progress, counters, started_at, on_progress)
        except SyncLeaseLostError:
            log.warning("sync lease lost; another worker continues")
            return SyncOutcome(
                run_id, "skipped", kind, counters["rows_written"], counters["quarantined"], None
            )
        except Exception as exc:  # every failure is recorded on the run; the next run starts clean
            message = str(exc) or type(exc).__name__
            log.warning("sync failed", error=message)
            async with self.db.write() as session:
                await repo.finish_run(
                    session,
                    run_id,
                    worker=self.worker_id,
                    status="failed",
                    error=message[:2000],
                    now=self.clock.now(),
                )
            failed = SyncOutcome(
                run_id, "failed", kind, counters["rows_written"], counters["quarantined"], message
            )
            return await self._notify(business_id, failed)
        async with self.db.write() as session:
            await repo.finish_run(
                session, run_id, worker=self.worker_id, status="succeeded", now=self.clock.now()
            )
        log.info(
            "sync finished", kind=kind, rows=counters["rows_written"], quarantined=counters["quarantined"]
        )
        succeeded = SyncOutcome(
            run_id, "succeeded", kind, counters["rows_written"], counters["quarantined"], None
        )
        return await self._notify(business_id, succeeded)

    async def _refresh_company(self, business_id: int) -> None:
        """Home currency (and time zone, when QBO says) from Preferences and CompanyInfo."""
        preferences = await self._call(
            business_id, lambda c: self.client.preferences(c.realm_id, c.access_token)
        )
        company = await self._call(
            business_id, lambda c: self.client.company_info(c.realm_id, c.access_token)
        )
        prefs = map_preferences(preferences)
        map_company_info(company)  # validates the envelope; the name in Runway stays the user's
        async with self.db.write() as session:
            business = await session.get(Business, business_id)
            if business is not None:
                if prefs.home_currency:
                    business.home_currency = prefs.home_currency
                if prefs.timezone:
                    business.timezone = prefs.timezone

    async def _home_currency(self, business_id: int) -> str:
        async with self.db.read() as session:
            business = await session.get(Business, business_id)
            return business.home_currency if business else "USD"

    async def _checkpoint(
        self, session: Any, run_id: int, progress: dict[str, Any], counters: dict[str, int]
    ) -> None:
        ok = await repo.renew_lease(session, run_id, **self._lease_renewal(progress, counters))
        if not ok:
            raise SyncLeaseLostError(run_id)

    def _lease_renewal(self, progress: dict[str, Any], counters: dict[str, int]) -> dict[str, Any]:
        """What `_checkpoint` records with the lease: the progress and the run's counters."""
        return {
            "worker": self.worker_id,
            "lease": LEASE,
            "progress": progress,
            "now": self.clock.now(),
            "entities_done": sum(1 for v in progress.get("entities", {}).values() if v.get("done")),
            "rows_written": counters["rows_written"],
            "quarantined": counters["quarantined"],
        }

    async def _checkpoint_by_writer(
        self,
        business_id: int,
        run_id: int,
        model: type[SyncedEntity],
        kept: list[str],
        progress: dict[str, Any],
        counters: dict[str, int],
        ending: Sequence[Any] = (),
    ) -> None:
        """A page's bookkeeping when it has nothing to quarantine, release or delete: the rows kept
        (`_touch`), `ending` (after an entity's last page: the sweep and the cursor) and `_checkpoint`, as
        statements bound here and run by the database's writer process in one transaction (this process
        is niced: holding the write lock, it would wait for a processor while requests wait for the lock)."""
        dialect = self.db.write_engine.dialect
        statements = _touch_statements(business_id, model, kept, self.clock.now())
        statements += ending
        statements.append(repo.renew_lease_statement(run_id, **self._lease_renewal(progress, counters)))
        bound = []
        for statement in statements:
            compiled = DriverStatement.of(statement, dialect)
            values = compiled.bound(None) if compiled is not None else None
            if values is None:
                raise RuntimeError(f"a checkpoint statement the driver cannot run: {statement}")
            bound.append(values)
        await foreground.yield_to_requests_before_writing()
        counts = await self.db.write_in_one_trip(functools.partial(run_bound, bound))
        if counts[-1] != 1:
            raise SyncLeaseLostError(run_id)

    async def _apply(
        self,
        session: Any,
        business_id: int,
        run_id: int | None,
        entity: str,
        objects: Sequence[Mapping[str, Any]],
        home_currency: str,
        counters: dict[str, int],
        *,
        mapped: MappedBatch | None = None,
        prepared: PreparedRows | None = None,
        mapped_ids: Sequence[str] | None = None,
    ) -> _Applied:
        """Upsert what maps, delete what QBO deleted, quarantine the rest; the Ids seen and those written.

        `mapped` is `objects` already mapped (a full sync maps each page as it arrives), `prepared` its rows
        (or the last part of them) ready for the driver, and `mapped_ids` the Ids of all that mapped."""
        if mapped is None:
            mapped = map_objects(entity, objects, home_currency)
        model = MAPPERS[entity].model
        for qbo_id, error, obj in mapped.failed:
            counters["quarantined"] += 1
            await repo.quarantine(
                session, business_id, entity=entity, qbo_id=qbo_id, reason=error, raw=obj, run_id=run_id
            )
        written: list[str] = []
        rows = mapped.rows if prepared is None else prepared
        if len(rows):
            written = await upsert_entities(session, business_id, model, rows, synced_at=self.clock.now())
            counters["rows_written"] += len(written)
        if mapped_ids is None:
            mapped_ids = [row.qbo_id for row in mapped.rows]
        # Usually nothing of this entity is quarantined: one indexed lookup instead of a DELETE whose
        # IN list holds the whole page.
        if mapped_ids and await _any_quarantined(session, business_id, entity):
            await repo.release_quarantine(session, business_id, entity, mapped_ids)
        if mapped.deleted:
            await delete_entities(session, business_id, model, mapped.deleted)
            await repo.release_quarantine(session, business_id, entity, mapped.deleted)
        return _Applied(mapped.seen, written)

    async def _plain(self, page: MappedPage, business_id: int, entity: str) -> bool:
        """Whether a page written in parts leaves nothing to quarantine, release or delete: then its
        bookkeeping is `_checkpoint_by_writer`'s. (Quarantine rows of a business change only in its
        sync, which this run holds the lease of: read without the lock.)"""
        if page.mapped.failed or page.mapped.deleted:
            return False
        async with self.db.read() as session:
            return not await _any_quarantined(session, business_id, entity)

    async def _fetch_page(self, business_id: int, entity: str, position: int) -> list[msgspec.Raw]:
        statement = _page_query(entity, position)

        async def fetch(c: Credentials) -> list[msgspec.Raw]:
            return await self.client.query_objects(c.realm_id, c.access_token, statement, entity)

        return await self._call(business_id, fetch)

    async def _full(
        self,
        run_id: int,
        business_id: int,
        progress: dict[str, Any],
        counters: dict[str, int],
        started_at: dt.datetime,
        on_progress: ProgressCallback | None,
    ) -> None:
        """Page every entity; each entity's pages are committed strictly in order, name lists first.

        Pages of several entities are fetched at once, which hides QBO's per-request latency (the throttle
        still spaces the requests); an entity's pages commit in order, keeping its `next_position` exact, so
        a crash resumes each entity at its first page not committed.
        """
        home_currency = await self._home_currency(business_id)
        mapper = PageMapper(self.db.write_engine.dialect, use_process=self.map_in_process)
        entities = progress.setdefault("entities", {})
        for entity in SYNC_ENTITIES:
            entities.setdefault(entity, {"next_position": 1, "fetched": 0, "done": False})

        async def fetch(entity: str, position: int) -> MappedPage:
            # Mapped here, as soon as the page arrives: the CPU work then overlaps the database writes of
            # the page before, which run in the driver's thread while this task has the event loop.
            items = await self._fetch_page(business_id, entity, position)
            # The entity's next page can be asked for now, while this one is mapped.
            pages.sized(entity, position, len(items))
            return await mapper.map(entity, items, home_currency)

        pages: _PagePipeline[MappedPage] = _PagePipeline(
            fetch,
            [
                (entity, int(entities[entity]["next_position"]))
                for entity in SYNC_ENTITIES
                if not entities[entity]["done"]
            ],
            groups=(NAME_LISTS, frozenset(SYNC_ENTITIES) - NAME_LISTS),
        )
        try:
            # On SQLite the page writes run in the driver's thread beside the event loop.
            with foreground.quick_interpreter_switches() if self.db.is_sqlite else contextlib.nullcontext():
                while not all(entities[entity]["done"] for entity in SYNC_ENTITIES):
                    entity, position, page = await pages.next_page()
                    await self._write_page(
                        business_id,
                        run_id,
                        entity,
                        position,
                        page,
                        home_currency,
                        progress,
                        counters,
                        started_at,
                    )
                    if entities[entity]["done"]:
                        pages.finished(entity)
                    done = sum(1 for name in SYNC_ENTITIES if entities[name]["done"])
                    await _report(on_progress, entity, done, len(SYNC_ENTITIES))
        finally:
            await pages.aclose()

    async def _write_page(
        self,
        business_id: int,
        run_id: int,
        entity: str,
        position: int,
        page: MappedPage,
        home_currency: str,
        progress: dict[str, Any],
        counters: dict[str, int],
        started_at: dt.datetime,
    ) -> None:
        """Commit one query page of a full sync with the entity's next position (in `progress`); after its
        last page, remove what QBO no longer has."""
        state = progress["entities"][entity]
        model = MAPPERS[entity].model
        last_part = page.prepared
        written: set[str] = set()
        # While the process serves requests, on SQLite: every row in parts of their own, each written in one
        # trip to the driver's thread, then the page's bookkeeping as a small write on the loop's thread.
        # Either way the write lock is held for SQL alone, not across trips back to a busy event loop. With
        # a writer process (a sync process) the parts are its, and so is the bookkeeping of a page that has
        # nothing to quarantine, release or delete (`_plain`: most pages, last ones included).
        in_parts = self.db.is_sqlite and foreground.writes_meet_requests()
        if in_parts:
            unchanged = await self._stamp_unchanged(business_id, last_part)
            last_part = last_part.without(unchanged)
            counters["rows_written"] += len(unchanged)
            written.update(unchanged)
        while in_parts and len(last_part):
            part, last_part = last_part.split(SQLITE_WRITE_PART)
            # Requests being served go first: each write holds the database's write lock.
            await foreground.yield_to_requests_before_writing()
            stored = await upsert_alone_on_sqlite(
                self.db,
                business_id,
                part,
                synced_at=self.clock.now(),
                on_loop_thread=foreground.beside_serving_process(),
            )
            counters["rows_written"] += len(stored)
            written.update(stored)
        last_page = len(page) < PAGE_SIZE
        # What the sweep after the last page may delete is looked for before the write lock is taken: a scan
        # of every row of the entity, which inside the write held the lock every request waits for 7-15 ms.
        ending: list[Any] = []
        if last_page:
            sweep_candidates = await _stale_candidates(self.db, business_id, model, started_at)
            ending = self._entity_done_statements(business_id, entity, started_at, sweep_candidates)
        by_writer = self.db.bulk_writer is not None and in_parts
        if by_writer and await self._plain(page, business_id, entity):
            kept = [qbo_id for qbo_id in page.mapped.seen if qbo_id not in written]
            _advance(state, position, len(page), done=last_page)
            await self._checkpoint_by_writer(business_id, run_id, model, kept, progress, counters, ending)
            return
        await foreground.yield_to_requests_before_writing()
        async with self.db.write(small=in_parts) as session:
            applied = await self._apply(
                session,
                business_id,
                run_id,
                entity,
                (),
                home_currency,
                counters,
                mapped=page.mapped,
                prepared=last_part,
                mapped_ids=page.prepared.qbo_ids,
            )
            # The upsert stamped the rows it wrote; keep the rest QBO still has (an older SyncToken skipped,
            # a quarantined version) from the sweep below.
            written.update(applied.written)
            kept = [qbo_id for qbo_id in applied.seen if qbo_id not in written]
            await _touch(session, business_id, model, kept, self.clock.now())
            _advance(state, position, len(page), done=last_page)
            for statement in ending:
                await session.execute(statement)
            await self._checkpoint(session, run_id, progress, counters)

    async def _stamp_unchanged(self, business_id: int, rows: PreparedRows) -> set[str]:
        """The qbo_ids of `rows` stored exactly as delivered (most of them, in a sync of unchanged books),
        found without the lock and only stamped, `SQLITE_STAMP_PART` to a write: parts as cheap as a few
        rows' upsert."""
        unchanged = await unchanged_on_sqlite(self.db, business_id, rows)
        to_stamp = [qbo_id for qbo_id in rows.qbo_ids if qbo_id in unchanged]
        for start in range(0, len(to_stamp), SQLITE_STAMP_PART):
            await foreground.yield_to_requests_before_writing()
            await stamp_alone_on_sqlite(
                self.db,
                business_id,
                rows.model,
                to_stamp[start : start + SQLITE_STAMP_PART],
                synced_at=self.clock.now(),
                on_loop_thread=foreground.beside_serving_process(),
            )
        return unchanged

    def _entity_done_statements(
        self, business_id: int, entity: str, started_at: dt.datetime, sweep_candidates: Sequence[str]
    ) -> list[Any]:
        """After an entity's last page, once its rows are written and touched: the sweep (rows QBO stopped
        returning were deleted there; this run touched all it saw) and the cursor incremental syncs go on
        from."""
        statements = _sweep_statements(business_id, MAPPERS[entity].model, started_at, sweep_candidates)
        dialect = self.db.write_engine.dialect.name
        cursor = started_at - CDC_OVERLAP
        statements.append(repo.set_cursor_statement(dialect, business_id, entity, cursor, self.clock.now()))
        return statements

    async def _incremental(
        self,
        run_id: int,
        business_id: int,
        progress: dict[str, Any],
        counters: dict[str, int],
        on_progress: ProgressCallback | None,
    ) -> bool:
        """CDC since the oldest cursor. Returns True when a full sync is needed instead."""
        async with self.db.read() as session:
            cursors = await repo.get_cursors(session, business_id)
        now = self.clock.now()
        if any(entity not in cursors for entity in SYNC_ENTITIES):
            return True
        since = min(cursors[e] for e in SYNC_ENTITIES)
        if now - since > CDC_LOOKBACK_LIMIT:
            log.info("cdc cursor older than QBO keeps; falling back to a full sync", since=since.isoformat())
            return True
        changed, server_time = await self._call(
            business_id,
            lambda c: self.client.cdc(c.realm_id, c.access_token, list(SYNC_ENTITIES), _qbo_timestamp(since)),
        )
        if sum(len(v) for v in changed.values()) >= CDC_MAX_OBJECTS:
            log.info("cdc window holds QBO's maximum; falling back to a full sync")
            return True
        new_cursor = (_parse_qbo_time(server_time) or now) - CDC_OVERLAP
        home_currency = await self._home_currency(business_id)
        entities = progress.setdefault("entities", {})
        for index, entity in enumerate(SYNC_ENTITIES):
            async with self.db.write() as session:
                await self._apply(
                    session, business_id, run_id, entity, changed.get(entity, []), home_currency, counters
                )
                await repo.set_cursor(session, business_id, entity, max(new_cursor, cursors[entity]))
                entities[entity] = {"fetched": len(changed.get(entity, [])), "done": True}
                await self._checkpoint(session, run_id, progress, counters)
            await _report(on_progress, entity, index + 1, len(SYNC_ENTITIES))
        return False

    # --- writes ----------------------------------------------------------------------------------

    async def _write(
        self,
        business_id: int,
        *,
        entity: str,
        operation: str,
        target_qbo_id: str | None,
        payload: dict[str, Any],
        request_id: str | None,
        user_id: int | None,
        audit_action: str,
        send: Callable[[Credentials, str], Awaitable[dict[str, Any]]],
    ) -> WriteResult:
        """Persist the intent with its requestid, call QBO (retries replay), store the result, audit it."""
        request_id = request_id or new_request_id()
        async with self.db.write() as session:
            write = await repo.record_write(
                session,
                business_id,
                request_id=request_id,
                entity=entity,
                operation=operation,
                target_qbo_id=target_qbo_id,
                payload=payload,
                user_id=user_id,
            )
            if write.status == "succeeded" and write.response is not None:
                obj = dict(write.response)
                return WriteResult(
                    entity,
                    str(obj.get("Id", write.result_qbo_id or "")),
                    str(obj.get("SyncToken", "")),
                    obj,
                    request_id,
                    replayed=True,
                )
            before_row = await _local(session, business_id, entity, target_qbo_id)
        try:
            obj = await self._call(business_id, lambda c: send(c, request_id))
        except QboStaleObjectError as exc:
            assert target_qbo_id is not None
            current = await self._call(
                business_id, lambda c: self.client.read(c.realm_id, c.access_token, entity, target_qbo_id)
            )
            async with self.db.write() as session:
                await self._store_objects(session, business_id, entity, [current])
                await repo.complete_write(
                    session, business_id, request_id, status="conflict", response=current, error=str(exc)
                )
            raise ConflictError(entity, target_qbo_id, current) from exc
        except QboError as exc:
            async with self.db.write() as session:
                await repo.complete_write(
                    session, business_id, request_id, status="failed", error=str(exc)[:2000]
                )
            raise
        qbo_id = str(obj.get("Id", target_qbo_id or ""))
        async with self.db.write() as session:
            if operation == "delete":
                await delete_entities(session, business_id, MAPPERS[entity].model, [qbo_id])
            else:
                await self._store_objects(session, business_id, entity, [obj])
            await repo.complete_write(
                session, business_id, request_id, status="succeeded", result_qbo_id=qbo_id, response=obj
            )
            await core.add_audit_entry(
                session,
                action=audit_action,
                business_id=business_id,
                user_id=user_id,
                entity_type=entity,
                entity_id=qbo_id,
                before=_audit_view(before_row, payload),
                after=_audit_view(obj, payload),
                request_id=request_id,
            )
        return WriteResult(entity, qbo_id, str(obj.get("SyncToken", "")), obj, request_id)

    async def _store_objects(
        self, session: Any, business_id: int, entity: str, objects: list[dict[str, Any]]
    ) -> None:
        if entity not in MAPPERS:
            return
        business = await session.get(Business, business_id)
        home_currency = business.home_currency if business is not None else "USD"
        await self._apply(
            session, business_id, None, entity, objects, home_currency, {"rows_written": 0, "quarantined": 0}
        )

    async def update_entity(
        self,
        business_id: int,
        entity: str,
        qbo_id: str,
        changes: Mapping[str, Any],
        *,
        sync_token: str,
        user_id: int | None,
        request_id: str | None = None,
        audit_action: str | None = None,
    ) -> WriteResult:
        """Sparse update of `changes` (plus Id and SyncToken); a stale SyncToken raises ConflictError."""
        payload = {"Id": qbo_id, "SyncToken": sync_token, "sparse": True, **changes}
        return await self._write(
            business_id,
            entity=entity,
            operation="update",
            target_qbo_id=qbo_id,
            payload=payload,
            request_id=request_id,
            user_id=user_id,
            audit_action=audit_action or f"qbo.{entity.lower()}.update",
            send=lambda c, rid: self.client.write(
                c.realm_id, c.access_token, entity, payload, request_id=rid
            ),
        )

    async def create_entity(
        self,
        business_id: int,
        entity: str,
        payload: Mapping[str, Any],
        *,
        request_id: str,
        user_id: int | None,
        audit_action: str | None = None,
    ) -> WriteResult:
        """Create with a requestid that the caller persisted first: a retry never makes a second object."""
        body = dict(payload)
        return await self._write(
            business_id,
            entity=entity,
            operation="create",
            target_qbo_id=None,
            payload=body,
            request_id=request_id,
            user_id=user_id,
            audit_action=audit_action or f"qbo.{entity.lower()}.create",
            send=lambda c, rid: self.client.write(c.realm_id, c.access_token, entity, body, request_id=rid),
        )

    async def delete_entity(
        self,
        business_id: int,
        entity: str,
        qbo_id: str,
        *,
        sync_token: str,
        user_id: int | None,
        request_id: str | None = None,
    ) -> WriteResult:
        payload = {"Id": qbo_id, "SyncToken": sync_token}
        return await self._write(
            business_id,
            entity=entity,
            operation="delete",
            target_qbo_id=qbo_id,
            payload=payload,
            request_id=request_id,
            user_id=user_id,
            audit_action=f"qbo.{entity.lower()}.delete",
            send=lambda c, rid: self.client.write(
                c.realm_id, c.access_token, entity, payload, request_id=rid, operation="delete"
            ),
        )

    async def send_invoice(
        self,
        business_id: int,
        invoice_id: str,
        *,
        user_id: int | None,
        request_id: str | None = None,
        send_to: str | None = None,
    ) -> WriteResult:
        """QBO emails the invoice (to its BillEmail, or `send_to`)."""
        return await self._write(
            business_id,
            entity="Invoice",
            operation="send",
            target_qbo_id=invoice_id,
            payload={"Id": invoice_id, "sendTo": send_to},
            request_id=request_id,
            user_id=user_id,
            audit_action="qbo.invoice.send",
            send=lambda c, rid: self.client.send_invoice(
                c.realm_id, c.access_token, invoice_id, request_id=rid, send_to=send_to
            ),
        )

    async def read_entity(self, business_id: int, entity: str, qbo_id: str) -> dict[str, Any]:
        """QBO's current version of one object (not stored; callers decide)."""
        return await self._call(
            business_id, lambda c: self.client.read(c.realm_id, c.access_token, entity, qbo_id)
        )


@dataclass(frozen=True, slots=True)
class _Applied:
    seen: list[str]
    written: list[str]


P = TypeVar("P", bound=Sized)
PageFetch = Callable[[str, int], Awaitable[P]]


class _PagePipeline(Generic[P]):
    """Query pages of a full sync, fetched ahead across entities and handed out in commit order.

    An entity has at most one page in flight: its next page is asked for only once a full page shows there
    may be one, so no request is spent past an entity's end. The fetch may say how many objects a page
    holds (`sized`) before it has finished with the page (mapping it), so that the entity's next request
    does not wait for that work. Several entities are fetched at once instead (at most MAX_IN_FLIGHT
    requests outstanding, next pages of entities under way before first pages: those chains of pages are
    what a sync waits for, while a first page can go out any time, e.g. as the long chains end),
    and a page is handed out as soon as it arrives, once every entity of the earlier groups is finished
    (name lists before transactions); an entity's own pages always come in order. Pages held (in flight or
    waiting) are bounded by PREFETCH_PAGES, plus one for the first entity that can be handed out.
    """

    def __init__(
        self, fetch: PageFetch[P], starts: Sequence[tuple[str, int]], *, groups: Sequence[frozenset[str]]
    ) -> None:
        self._fetch = fetch
        self._order = [entity for entity, _position in starts]
        # Where each entity's next page starts; None while its last page is in flight or after its end.
        self._next: dict[str, int | None] = dict(starts)
        self._held: dict[str, deque[tuple[int, asyncio.Task[P]]]] = {
            entity: deque() for entity in self._order
        }
        self._group = {entity: index for index, group in enumerate(groups) for entity in group}
        self._finished: set[str] = set()
        # Each entity's latest page asked for (or about to be), so a page's size is acted on only once.
        self._asked: dict[str, int] = {}
        self._starts = dict(starts)
        # Entities whose latest request has not answered yet.
        self._requesting: set[str] = set()
        self._closed = False

    def _open(self, entity: str) -> bool:
        group = self._group[entity]
        return all(other in self._finished for other in self._order if self._group[other] < group)

    def _fill(self) -> None:
        if self._closed:
            return
        held = sum(len(pages) for pages in self._held.values())
        # Past the bound only the first unfinished entity that can be handed out may fetch, and only when it
        # holds nothing: that keeps the sync moving without letting pages pile up faster than they commit.
        lead = next((e for e in self._order if e not in self._finished and self._open(e)), None)
        waiting = [entity for entity in self._order if self._next[entity] is not None]
        waiting.sort(key=lambda e: (not self._open(e), self._next[e] == self._starts[e]))
        for entity in waiting:
            position = self._next[entity]
            assert position is not None
            if len(self._requesting) >= MAX_IN_FLIGHT:
                break
            if held >= PREFETCH_PAGES and (entity != lead or self._held[entity]):
                continue
            self._next[entity] = None
            self._asked[entity] = position
            self._requesting.add(entity)
            task = asyncio.ensure_future(self._fetch(entity, position))
            task.add_done_callback(functools.partial(self._arrived, entity, position))
            self._held[entity].append((position, task))
            held += 1

    def _arrived(self, entity: str, position: int, task: asyncio.Task[P]) -> None:
        # A failed page stops its entity here; the sync sees the error when that page is handed out.
        if task.cancelled() or task.exception() is not None:
            if self._asked.get(entity) == position:
                self._requesting.discard(entity)
            self._fill()
            return
        self.sized(entity, position, len(task.result()))

    def sized(self, entity: str, position: int, count: int) -> None:
        """The page of `entity` at `position` holds `count` objects: a full page asks for the next one."""
        if self._asked.get(entity) == position:
            self._requesting.discard(entity)
            if count == PAGE_SIZE:
                self._asked[entity] = position + PAGE_SIZE
                self._next[entity] = position + PAGE_SIZE
        self._fill()

    def finished(self, entity: str) -> None:
        """The entity's last page is committed: later groups may be handed out once theirs are too."""
        self._finished.add(entity)
        self._fill()

    async def next_page(self) -> tuple[str, int, P]:
        """The next page to commit: its entity, its start position and the page."""
        while True:
            self._fill()
            for entity in self._order:
                pages = self._held[entity]
                if pages and pages[0][1].done() and self._open(entity):
                    position, task = pages.popleft()
                    objects = task.result()
                    self._fill()
                    return entity, position, objects
            waiting = [task for pages in self._held.values() for _position, task in pages if not task.done()]
            if not waiting:
                raise RuntimeError("full sync: no page left to fetch for an unfinished entity")
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)

    async def aclose(self) -> None:
        self._closed = True
        tasks = [task for pages in self._held.values() for _position, task in pages]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


def _page_query(entity: str, position: int) -> str:
    """One page of a full pull, in a stable order. `entity` comes from SYNC_ENTITIES, never from input."""
    if entity not in MAPPERS:
        raise ValueError(f"not a synced entity: {entity!r}")
    where = " WHERE Active IN (true, false)" if entity in NAME_LISTS else ""
    return f"SELECT * FROM {entity}{where} ORDERBY Id STARTPOSITION {int(position)} MAXRESULTS {PAGE_SIZE}"  # noqa: S608


async def _report(callback: ProgressCallback | None, entity: str, done: int, total: int) -> None:
    if callback is None:
        return
    result = callback(entity, done, total)
    if result is not None:
        await result


def _advance(state: dict[str, Any], position: int, count: int, *, done: bool) -> None:
    """An entity's progress (`progress["entities"][entity]`) past a page of `count` objects at `position`."""
    state["next_position"] = position + count
    state["fetched"] = int(state["fetched"]) + count
    if done:
        state["done"] = True


async def _touch(
    session: Any, business_id: int, model: type[SyncedEntity], qbo_ids: list[str], now: dt.datetime
) -> None:
    for statement in _touch_statements(business_id, model, qbo_ids, now):
        await session.execute(statement)


def _touch_statements(
    business_id: int, model: type[SyncedEntity], qbo_ids: list[str], now: dt.datetime
) -> list[Any]:
    """The UPDATEs stamping rows a run saw but did not write (so the sweep keeps them), 500 at a time."""
    table = model.__table__
    assert isinstance(table, Table)
    return [
        update(table)
        .where(table.c.business_id == business_id, table.c.qbo_id.in_(qbo_ids[start : start + 500]))
        .values(synced_at=now)
        for start in range(0, len(qbo_ids), 500)
    ]


async def _any_quarantined(session: Any, business_id: int, entity: str) -> bool:
    found = await session.execute(
        select(QuarantinedEntity.id)
        .where(QuarantinedEntity.business_id == business_id, QuarantinedEntity.entity == entity)
        .limit(1)
    )
    return found.first() is not None


async def _stale_candidates(
    db: Database, business_id: int, model: type[SyncedEntity], started_at: dt.datetime
) -> list[str]:
    """The entity's rows this run has not touched yet, read without the write lock: all that
    `_sweep_statements` may delete (a row's `synced_at` only moves forward, and rows added meanwhile are
    stamped after `started_at`)."""
    async with db.read() as session:
        return list(await session.scalars(_untouched_ids(model, business_id, started_at)))


def _sweep_statements(
    business_id: int, model: type[SyncedEntity], started_at: dt.datetime, candidates: Sequence[str]
) -> list[Any]:
    """The DELETEs of those of `candidates` (`_stale_candidates`) still untouched since `started_at`: QBO no
    longer returns them. Run inside the write of the entity's last page: the rows it wrote are touched."""
    return deletion_statements(business_id, model, candidates, untouched_since=started_at)


def _untouched_ids(
    model: type[SyncedEntity], business_id: int, started_at: dt.datetime
) -> Select[tuple[str]]:
    """The qbo_ids of the business's rows of `model` that no write has stamped since `started_at`."""
    table = model.__table__
    assert isinstance(table, Table)
    return select(table.c.qbo_id).where(table.c.business_id == business_id, table.c.synced_at < started_at)


async def _local(session: Any, business_id: int, entity: str, qbo_id: str | None) -> dict[str, Any] | None:
    if qbo_id is None or entity not in MAPPERS:
        return None
    row = await get_entity(session, business_id, MAPPERS[entity].model, qbo_id)
    return dict(row.raw) if row is not None else None


def _audit_view(obj: Mapping[str, Any] | None, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fields a write touched, as they were or became (the whole object for creates)."""
    if obj is None:
        return None
    keys = [k for k in payload if k not in {"sparse"}] or list(obj)
    return {k: json_safe(obj.get(k)) for k in keys}
