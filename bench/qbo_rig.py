"""Benchmark: the sync rig — seeded QBO sandbox companies (cached per run), migrated Runway databases,
and a SmartSyncService connected to a sandbox process, with every QBO request recorded for pacing analysis.

    company = await seeded_company(ctx.cache, 50_000)               # generated + seeded once per run
    with sandbox_server(company.db_path) as sandbox:
        url = fresh_database(runway_template(ctx.cache), ctx.workdir / "runway.db")
        async with sync_rig(url, sandbox.url, company.realm_id, faults={"rate_limits": True}) as rig:
            outcome = await rig.smart_sync.sync_now(rig.business_id, full=True)
            rig.traffic.realm_requests
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import BigInteger, Table, delete
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import cast

from bench.registry import log
from bench.servers import BENCH_SECRET, require_loopback, runway_cli
from domains.core import repository as core
from domains.core.db import Database, utcnow
from domains.qbo.client import decode_body
from domains.qbo.config import QboConfig
from domains.qbo.crypto import TokenCipher
from domains.qbo.demo import generate_large_company
from domains.qbo.mappers import MAPPERS
from domains.qbo.oauth import TokenSet
from domains.qbo.page_mapping import start_mapping_process
from domains.qbo.sandbox import QboSandbox, SandboxConfig, SandboxStorage, seed_company
from domains.qbo.sandbox.server import database_url as sandbox_database_url
from domains.qbo.smart_sync import PAGE_SIZE as SYNC_PAGE_SIZE
from domains.qbo.smart_sync import SYNC_ENTITIES, SmartSyncService, _page_query
from domains.synced import EntityRow, RawJSON, SyncedEntity, lines_relationship

# QBO's published per-realm limits (docs/qbo.md).
QBO_PER_SECOND = 10
QBO_PER_MINUTE = 500
# Generated companies count back from this day, so every run syncs and forecasts the same documents.
BENCH_TODAY = dt.date(2026, 11, 27)


def ceiling_seconds(requests: int) -> float:
    """The least time QBO's limits allow for `requests` calls to one realm (10/s and 500/min).

    The first call goes at t=0; call k (0-based) can go no sooner than k/10 s, nor sooner than one
    minute after call k-500.
    """
    if requests <= 1:
        return 0.0
    k = requests - 1
    return max(k / QBO_PER_SECOND, 60.0 * (k // QBO_PER_MINUTE))


def requests_needed(counts: dict[str, int]) -> int:
    """Calls a full sync cannot do without: Preferences, CompanyInfo, and one query per page of each
    synced entity (a last page shorter than 1000 ends the entity, so an exact multiple needs one more)."""
    return 2 + sum(counts.get(entity, 0) // SYNC_PAGE_SIZE + 1 for entity in SYNC_ENTITIES)


@dataclass(frozen=True)
class SeededCompany:
    """A generated large company loaded into a sandbox database file."""

    size: int
    db_path: Path
    realm_id: str
    counts: dict[str, int]

    @property
    def synced_entities(self) -> int:
        """Documents of the entity types SmartSync pulls (the generator also makes Items, which it skips)."""
        return sum(n for entity, n in self.counts.items() if entity in MAPPERS)


def _cached(cache: Path, size: int) -> SeededCompany | None:
    db_path = cache / f"qbo-{size}.db"
    meta_path = cache / f"qbo-{size}.json"
    if not (db_path.exists() and meta_path.exists()):
        cache.mkdir(parents=True, exist_ok=True)
        (cache / f"qbo-{size}.partial.db").unlink(missing_ok=True)
        return None
    meta = json.loads(meta_path.read_text())
    return SeededCompany(size, db_path, meta["realm_id"], meta["counts"])


def _store(cache: Path, size: int, realm_id: str, counts: dict[str, int]) -> SeededCompany:
    db_path = cache / f"qbo-{size}.db"
    (cache / f"qbo-{size}.partial.db").rename(db_path)
    (cache / f"qbo-{size}.json").write_text(json.dumps({"realm_id": realm_id, "counts": counts}))
    return SeededCompany(size, db_path, realm_id, counts)


async def seeded_company(cache: Path, size: int) -> SeededCompany:
    """`generate_large_company(size)` seeded into `cache/qbo-<size>.db`; later benchmarks reuse it."""
    cached = _cached(cache, size)
    if cached is not None:
        return cached
    company = generate_large_company(size, today=BENCH_TODAY)
    log(f"seeding a {company.entity_count:,}-entity company into the sandbox database")
    realm_id = await seed_sandbox_db(cache / f"qbo-{size}.partial.db", company)
    return _store(cache, size, realm_id, {entity: len(docs) for entity, docs in company.entities.items()})


async def company_pages(company: SeededCompany) -> dict[str, list[bytes]]:
    """Every page a full sync reads, as the sandbox serves it (bytes of the QueryResponse), per entity."""
    sandbox = QboSandbox(SandboxConfig(database_url=sandbox_database_url(company.db_path)))
    await sandbox.start()
    pages: dict[str, list[bytes]] = {}
    try:
        for entity in SYNC_ENTITIES:
            expected = company.counts.get(entity, 0)
            pages[entity] = [
                await sandbox.api.query(company.realm_id, _page_query(entity, position))
                for position in range(1, expected + 1, SYNC_PAGE_SIZE)
            ]
    finally:
        await sandbox.stop()
    return pages


async def seed_sandbox_db(db_path: Path, company: Any) -> str:
    """Load a generated `DemoCompany` into a sandbox database file; returns its realm id."""
    storage = SandboxStorage(sandbox_database_url(db_path))
    try:
        return await seed_company(
            storage,
            company.name,
            company.entities,
            company_info=company.company_info,
            preferences=company.preferences,
        )
    finally:
        await storage.close()


def runway_template(cache: Path) -> Path:
    """An empty, fully migrated Runway SQLite file, made once per run (copy it with `fresh_database`)."""
    path = cache / "runway-template.db"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = cache / "runway-template.partial.db"
        partial.unlink(missing_ok=True)
        runway_cli(cache, "migrate", database_url=f"sqlite+aiosqlite:///{partial}")
        partial.rename(path)
    return path


def fresh_database(template: Path, target: Path) -> str:
    """Copy the migrated template to `target`; returns its SQLAlchemy URL."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


@dataclass
class Traffic:
    """Every QBO request SmartSync made: when it was sent and answered, its path and status."""

    started: dict[int, float] = field(default_factory=dict)
    spans: list[tuple[float, float, str, int]] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    async def on_request(self, request: httpx.Request) -> None:
        self.started[id(request)] = time.perf_counter()

    async def on_response(self, response: httpx.Response) -> None:
        end = time.perf_counter()
        begin = self.started.pop(id(response.request), end)
        self.spans.append((begin, end, response.request.url.path, response.status_code))
        self.statuses[response.status_code] += 1

    @property
    def realm_requests(self) -> int:
        """Calls that count against the realm's limits (the accounting API, not OAuth)."""
        return sum(1 for _b, _e, path, _s in self.spans if "/v3/company/" in path)

    def busy_seconds(self, since: float, until: float) -> float:
        """Time within [since, until] during which at least one QBO request was in flight."""
        intervals = sorted(
            (max(b, since), min(e, until)) for b, e, *_ in self.spans if e > since and b < until
        )
        busy = 0.0
        cursor = since
        for begin, end in intervals:
            if end <= cursor:
                continue
            busy += end - max(begin, cursor)
            cursor = end
        return busy

    def mean_in_flight(self, since: float, until: float) -> float:
        total = sum(min(e, until) - max(b, since) for b, e, *_ in self.spans if e > since and b < until)
        return total / (until - since) if until > since else 0.0


@dataclass
class SyncRig:
    db: Database
    smart_sync: SmartSyncService
    business_id: int
    realm_id: str
    traffic: Traffic


async def _admin(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    response = await client.request(method, path, **kwargs)
    if response.status_code >= 400:
        raise RuntimeError(f"sandbox {method} {path}: HTTP {response.status_code} {response.text[:200]}")
    return response.json()


@asynccontextmanager
async def sync_rig(
    database_url: str, sandbox_url: str, realm_id: str, *, faults: dict[str, Any] | None = None
) -> AsyncIterator[SyncRig]:
    """A business on `database_url` connected to `realm_id` of the sandbox at `sandbox_url`.

    The company's fault profile is reset (fresh rate-limit windows) and then set to `faults`, through
    the sandbox's admin API, which calls `QboSandbox.set_faults(realm_id, **faults)`.
    """
    require_loopback(sandbox_url)
    traffic = Traffic()
    db = Database(database_url)
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(60.0, connect=10.0),
        event_hooks={"request": [traffic.on_request], "response": [traffic.on_response]},
        trust_env=False,
    )
    try:
        async with httpx.AsyncClient(base_url=sandbox_url, trust_env=False, timeout=30) as admin:
            await _admin(admin, "DELETE", f"/_sandbox/realms/{realm_id}/faults")
            if faults:
                await _admin(admin, "PUT", f"/_sandbox/realms/{realm_id}/faults", json=faults)
            issued = await _admin(admin, "POST", f"/_sandbox/realms/{realm_id}/tokens")
        config = QboConfig.local_sandbox(sandbox_url, f"{sandbox_url}/callback", "bench-webhook-verifier")
        # Mapping as `runway serve` and `runway worker` sync: big pages in the mapping process.
        smart_sync = SmartSyncService(db, config, TokenCipher(BENCH_SECRET), http=http, map_in_process=True)
        async with db.write() as session:
            business_id = (await core.create_business(session, name="Northgate Wholesale Distributors")).id
        now = dt.datetime.now(dt.UTC)
        await smart_sync.tokens.store(
            business_id,
            realm_id,
            TokenSet(
                access_token=issued["access_token"],
                refresh_token=issued["refresh_token"],
                access_expires_at=now + dt.timedelta(seconds=int(issued["expires_in"])),
                refresh_expires_at=now + dt.timedelta(seconds=int(issued["x_refresh_token_expires_in"])),
            ),
        )
        # Started beforehand, as the worker of `runway serve` and `runway worker` starts it with them.
        await asyncio.to_thread(start_mapping_process)
        yield SyncRig(db, smart_sync, business_id, realm_id, traffic)
    finally:
        await http.aclose()
        await db.dispose()


# --- loading a company straight into a Runway database ------------------------------------------


def parent_column(rel: Any) -> str:
    """The column of a line table that points at its parent entity (e.g. `bill_id`)."""
    ((_local, remote),) = rel.local_remote_pairs
    return str(remote.key)


async def upsert_executemany(
    session: AsyncSession,
    business_id: int,
    model: type[SyncedEntity],
    rows: Sequence[EntityRow],
    *,
    synced_at: dt.datetime | None = None,
) -> list[str]:
    """`upsert_entities` as a SQLAlchemy Core statement with a parameter dict per row (SQLite only): same
    conflict rule, line replacement and stored values, without de-duplication or column checks. Used to
    load benchmark data and, in the ingest benchmark, for comparison with the driver-level upsert.
    """
    table = model.__table__
    assert isinstance(table, Table)
    insert = sqlite_dialect.insert(table)
    excluded = insert.excluded
    stmt = insert.on_conflict_do_update(
        index_elements=[table.c.business_id, table.c.qbo_id],
        set_={c.key: excluded[c.key] for c in table.columns if c.key not in {"id", "business_id", "qbo_id"}},
        where=cast(table.c.sync_token, BigInteger) <= cast(excluded.sync_token, BigInteger),
    ).returning(table.c.id, table.c.qbo_id)
    now = synced_at or utcnow()
    params = [
        {**row.values, "raw": _parsed(row.values["raw"]), "business_id": business_id, "synced_at": now}
        for row in rows
    ]
    stored = {qbo_id: row_id for row_id, qbo_id in (await session.execute(stmt, params)).all()}
    rel = lines_relationship(model)
    if rel is not None and stored:
        line_table = rel.target
        assert isinstance(line_table, Table)
        parent = parent_column(rel)
        await session.execute(
            delete(line_table).where(
                line_table.c.business_id == business_id, line_table.c[parent].in_(stored.values())
            )
        )
        new_lines = [
            {**line, "business_id": business_id, parent: stored[row.qbo_id], "position": position}
            for row in rows
            if row.qbo_id in stored
            for position, line in enumerate(row.lines)
        ]
        if new_lines:
            await session.execute(line_table.insert(), new_lines)
    return list(stored)


def _parsed(raw: Any) -> Any:
    # A Core statement would store QBO's text as a JSON string; give its JSON column the parsed object.
    return decode_body(str(raw).encode()) if isinstance(raw, RawJSON) else raw


async def load_pages(database_url: str, pages: dict[str, list[bytes]], *, home_currency: str = "USD") -> int:
    """Create a business in the database and store every page's entities in it; returns its id."""
    db = Database(database_url)
    try:
        async with db.write() as session:
            business = await core.create_business(
                session, name="Northgate Wholesale Distributors", home_currency=home_currency
            )
        for entity, entity_pages in pages.items():
            mapper = MAPPERS[entity]
            for page in entity_pages:
                items = decode_body(page)["QueryResponse"].get(entity, [])
                rows = [mapper(o, home_currency=home_currency) for o in items if isinstance(o, dict)]
                async with db.write() as session:
                    await upsert_executemany(session, business.id, mapper.model, rows)
        return business.id
    finally:
        await db.dispose()


async def synced_database(cache: Path, company: SeededCompany) -> tuple[Path, int]:
    """A Runway SQLite file holding `company` as a full sync would leave it (cached per run).

    Returns the file and the business id. The rows are mapped exactly as SmartSync maps them; they are
    written with `upsert_executemany`, which stores the same values faster than a real sync.
    """
    path = cache / f"runway-synced-{company.size}.db"
    meta = cache / f"runway-synced-{company.size}.json"
    if path.exists() and meta.exists():
        return path, int(json.loads(meta.read_text())["business_id"])
    log(f"loading the {company.synced_entities:,}-entity company into a Runway database")
    partial = cache / f"runway-synced-{company.size}.partial.db"
    business_id = await load_pages(
        fresh_database(runway_template(cache), partial), await company_pages(company)
    )
    _finish(partial, path, meta, business_id)
    return path, business_id


def keep_synced_database(cache: Path, company: SeededCompany, database: Path, business_id: int) -> None:
    """Offer a database that holds `company` fully ingested to later benchmarks (`synced_database`)."""
    path = cache / f"runway-synced-{company.size}.db"
    meta = cache / f"runway-synced-{company.size}.json"
    if not (path.exists() and meta.exists()):
        _finish(database, path, meta, business_id)


def _finish(partial: Path, path: Path, meta: Path, business_id: int) -> None:
    for suffix in ("-wal", "-shm"):
        leftover = Path(f"{partial}{suffix}")
        if leftover.exists():
            leftover.rename(f"{path}{suffix}")
    partial.rename(path)
    meta.write_text(json.dumps({"business_id": business_id}))
