"""Benchmark: ingest (issue 3) — decode + map + upsert of QBO pages vs sqlite3.executemany of the same rows.

The pages are exactly what the sandbox serves for a full sync of a generated company, already downloaded.
The measured path (`ingest_pipelined`, the headline ratio) is what a full sync does with them, minus HTTP
and run bookkeeping: each page split into its objects' JSON text (`split_query_page`) and handed to the
sync's `PageMapper`, which maps and prepares big pages in the mapping process while the pages before are
written, each by `domains.synced.upsert_entities` in one `Database.write()` transaction, into a migrated
SQLite file. The baseline inserts the very rows the mappers produced (parents with their lines), already
converted to SQLite values, with the stdlib `sqlite3.executemany`, one transaction per page, into another
copy of the same schema with the same pragmas. Both start from empty tables, so both take the insert path.

Informational passes: the same phases one after another in one process (`ingest`: split, `map_page`,
upsert; its shares of the time say where the CPU goes), and the mapped rows through
`bench.qbo_rig.upsert_executemany`, the same upsert as a SQLAlchemy Core statement with a parameter dict
per row (what `upsert_entities` did before it went straight to the driver), which also leaves a synced
database for the calculators benchmark.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Table

from bench.qbo_rig import (
    SeededCompany,
    company_pages,
    fresh_database,
    keep_synced_database,
    parent_column,
    runway_template,
    seeded_company,
    upsert_executemany,
)
from bench.registry import BenchContext, Report, at_least, benchmark, log
from domains.core import foreground
from domains.core import repository as core
from domains.core.db import Database, json_serializer, utcnow
from domains.qbo.client import decode_body, split_query_page
from domains.qbo.mappers import MAPPERS
from domains.qbo.page_mapping import PageMapper, map_page, start_mapping_process
from domains.qbo.smart_sync import PREFETCH_PAGES
from domains.synced import (
    EntityRow,
    PreparedRows,
    RawJSON,
    json_safe,
    lines_relationship,
    upsert_entities,
)

FULL_SIZE = 50_000
QUICK_SIZE = 10_000
HOME = "USD"


@dataclass
class Timings:
    parse: float = 0.0
    map: float = 0.0
    upsert: float = 0.0
    rows: int = 0
    lines: int = 0

    @property
    def total(self) -> float:
        return self.parse + self.map + self.upsert


async def _business(url: str) -> tuple[Database, int]:
    db = Database(url)
    async with db.write() as session:
        business = await core.create_business(session, name="Northgate Wholesale Distributors")
    return db, business.id


async def ingest(url: str, pages: dict[str, list[bytes]]) -> Timings:
    """The measured path: decode, map and upsert each page in its own write transaction."""
    db, business_id = await _business(url)
    timings = Timings()
    try:
        for entity, entity_pages in pages.items():
            mapper = MAPPERS[entity]
            for page in entity_pages:
                t0 = time.perf_counter()
                items = _split(page, entity)
                t1 = time.perf_counter()
                rows = _rows(entity, items)
                t2 = time.perf_counter()
                async with db.write() as session:
                    written = await upsert_entities(session, business_id, mapper.model, rows)
                t3 = time.perf_counter()
                if len(written) != len(rows):
                    raise RuntimeError(f"{entity}: upsert wrote {len(written)} of {len(rows)} rows")
                timings.parse += t1 - t0
                timings.map += t2 - t1
                timings.upsert += t3 - t2
                timings.rows += len(rows)
                timings.lines += sum(len(r.lines) for r in rows)
    finally:
        await db.dispose()
    return timings


async def ingest_pipelined(url: str, pages: dict[str, list[bytes]]) -> tuple[float, int]:
    """Wall seconds to ingest every page as a full sync does, and the rows written.

    A full sync hands each page to its `PageMapper` as soon as the page arrives, several at a time; big
    pages are mapped and prepared for the driver in the mapping process (`domains.qbo.page_mapping`), and
    wait, prepared, for their turn to be committed (at most PREFETCH_PAGES of them). Mapping then runs on
    the other core while this process writes: in one process, the two shared one interpreter, and mapping
    beside the writes was no faster than one after the other.
    """
    db, business_id = await _business(url)
    mapper = PageMapper(db.write_engine.dialect)
    start_mapping_process()  # as a server does when it starts
    ready: asyncio.Queue[tuple[str, PreparedRows] | None] = asyncio.Queue(maxsize=PREFETCH_PAGES)

    # Pages go to the mapping process as they arrive; several are under way at once, as in a sync.
    room = asyncio.Semaphore(PREFETCH_PAGES)

    async def mapped(entity: str, page: bytes) -> tuple[str, PreparedRows]:
        async with room:
            result = await mapper.map(entity, _split(page, entity), HOME)
        if result.mapped.failed or result.mapped.deleted:
            raise RuntimeError(f"{entity}: {len(result.mapped.failed)} objects did not map")
        return entity, result.prepared

    async def map_pages_as_they_arrive() -> None:
        arriving = [
            asyncio.ensure_future(mapped(entity, page))
            for entity, entity_pages in pages.items()
            for page in entity_pages
        ]
        try:
            for page_task in arriving:
                await ready.put(await page_task)
        finally:
            for page_task in arriving:
                page_task.cancel()
        await ready.put(None)

    written = 0
    start = time.perf_counter()
    mapping = asyncio.create_task(map_pages_as_they_arrive())
    try:
        while (page := await ready.get()) is not None:
            entity, rows = page
            async with db.write() as session:
                written += len(await upsert_entities(session, business_id, MAPPERS[entity].model, rows))
        await mapping
        took = time.perf_counter() - start
    finally:
        mapping.cancel()
        await db.dispose()
    return took, written


def map_pages(pages: dict[str, list[bytes]]) -> dict[str, list[list[EntityRow]]]:
    """The rows the measured path produced, mapped again outside the timing for the baseline: keeping
    every page's rows alive during the measured pass would make Python's garbage collector walk a heap a
    sync never holds (it keeps a few pages at a time), which showed up as slower decoding and upserts."""
    return {
        entity: [_rows(entity, _split(page, entity)) for page in entity_pages]
        for entity, entity_pages in pages.items()
    }


def _split(page: bytes, entity: str) -> list[msgspec.Raw]:
    items = split_query_page(page, entity)
    if items is None:
        raise RuntimeError(f"{entity}: the sandbox's page is not a plain QueryResponse")
    return items


def _rows(entity: str, items: list[msgspec.Raw]) -> list[EntityRow]:
    _count, mapped = map_page(entity, items, HOME)
    if mapped.failed or mapped.deleted:
        raise RuntimeError(
            f"{entity}: {len(mapped.failed)} objects did not map, {len(mapped.deleted)} deleted"
        )
    return mapped.rows


async def ingest_variant(url: str, mapped: dict[str, list[list[EntityRow]]]) -> tuple[float, int]:
    """Seconds to upsert already-mapped pages with `upsert_executemany` (the comparison pass), and the
    business id the rows belong to."""
    db, business_id = await _business(url)
    took = 0.0
    try:
        for entity, entity_pages in mapped.items():
            model = MAPPERS[entity].model
            for rows in entity_pages:
                t0 = time.perf_counter()
                async with db.write() as session:
                    written = await upsert_executemany(session, business_id, model, rows)
                took += time.perf_counter() - t0
                if len(written) != len(rows):
                    raise RuntimeError(f"{entity}: variant wrote {len(written)} of {len(rows)} rows")
    finally:
        await db.dispose()
    return took, business_id


def _sqlite_value(value: Any, key: str) -> Any:
    if key == "raw":
        # The very text Runway stores (QBO's own text of the object), so both sides write the same bytes.
        return str(value) if isinstance(value, RawJSON) else json_serializer(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


@dataclass
class PreparedPage:
    parent_sql: str
    parents: list[tuple[Any, ...]]
    line_sql: str | None
    lines: list[tuple[Any, ...]]


def prepare_baseline(mapped: dict[str, list[list[EntityRow]]], business_id: int) -> list[PreparedPage]:
    """The mapped rows as plain tuples for `executemany` (explicit ids so lines can point at parents)."""
    prepared: list[PreparedPage] = []
    now = utcnow()
    for entity, entity_pages in mapped.items():
        model = MAPPERS[entity].model
        table = model.__table__
        assert isinstance(table, Table)
        columns = [c.key for c in table.columns]
        parent_sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        )
        rel = lines_relationship(model)
        line_columns: list[str] = []
        line_sql = None
        parent = ""
        if rel is not None:
            line_table = rel.target
            assert isinstance(line_table, Table)
            parent = parent_column(rel)
            line_columns = [c.key for c in line_table.columns if c.key != "id"]
            line_sql = (
                f"INSERT INTO {line_table.name} ({', '.join(line_columns)}) "
                f"VALUES ({', '.join('?' for _ in line_columns)})"
            )
        next_id = 1
        for rows in entity_pages:
            parents: list[tuple[Any, ...]] = []
            lines: list[tuple[Any, ...]] = []
            for row in rows:
                values = {**row.values, "id": next_id, "business_id": business_id, "synced_at": now}
                parents.append(tuple(_sqlite_value(values[c], c) for c in columns))
                for position, line in enumerate(row.lines):
                    full = {**line, "business_id": business_id, parent: next_id, "position": position}
                    lines.append(tuple(_sqlite_value(full[c], c) for c in line_columns))
                next_id += 1
            prepared.append(PreparedPage(parent_sql, parents, line_sql, lines))
    return prepared


def executemany_baseline(path: Path, pages: list[PreparedPage]) -> float:
    """Seconds for raw sqlite3.executemany of the prepared rows, one transaction per page."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # The pragmas Runway's Database sets on every connection (domains/core/db.py).
        for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        start = time.perf_counter()
        for page in pages:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(page.parent_sql, page.parents)
            if page.line_sql and page.lines:
                conn.executemany(page.line_sql, page.lines)
            conn.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        conn.close()


def raw_encoding(mapped: dict[str, list[list[EntityRow]]]) -> tuple[float, float]:
    """Seconds to turn every row's raw QBO object back into JSON text, as earlier versions did before
    storing it: `json_safe` then `json.dumps`, and msgspec writing Decimals as JSON numbers. The sync now
    stores QBO's own text of each object and encodes nothing."""
    raws = [
        decode_body(str(row.values["raw"]).encode())
        for pages in mapped.values()
        for rows in pages
        for row in rows
    ]
    encoder = msgspec.json.Encoder(decimal_format="number")
    start = time.perf_counter()
    for raw in raws:
        json.dumps(json_safe(raw))
    today = time.perf_counter() - start
    start = time.perf_counter()
    for raw in raws:
        encoder.encode(raw)
    return today, time.perf_counter() - start


async def _business_id(url: str) -> int:
    db, business_id = await _business(url)
    await db.dispose()
    return business_id


@benchmark(
    "ingest",
    issue=3,
    order=20,
    summary="rows/s of decode + map + upsert ÷ raw sqlite3.executemany of the same rows (target >= 0.5)",
)
async def ingest_benchmark(ctx: BenchContext, report: Report) -> None:
    # The collector as in the processes that sync (`runway serve`, `runway worker`, `runway sync`).
    foreground.tune_garbage_collector()
    size = QUICK_SIZE if ctx.quick else FULL_SIZE
    company: SeededCompany = await seeded_company(ctx.cache, size)
    template = runway_template(ctx.cache)
    log(f"reading the {company.synced_entities:,} entities' pages from the sandbox")
    pages = await company_pages(company)
    page_count = sum(len(p) for p in pages.values())

    log("for comparison: decode + map + upsert_entities, one phase after another in one process")
    measured = await ingest(fresh_database(template, ctx.workdir / "ingest.db"), pages)
    log("ingest as a full sync runs it: pages mapped in the mapping process while earlier ones are written")
    pipelined, pipelined_rows = await ingest_pipelined(
        fresh_database(template, ctx.workdir / "piped.db"), pages
    )
    if pipelined_rows != measured.rows:
        raise RuntimeError(f"the pipelined ingest wrote {pipelined_rows:,} of {measured.rows:,} rows")
    mapped = map_pages(pages)

    baseline_path = ctx.workdir / "baseline.db"
    business_id = await _business_id(fresh_database(template, baseline_path))
    prepared = prepare_baseline(mapped, business_id)
    log("baseline: sqlite3.executemany of the same rows")
    baseline = executemany_baseline(baseline_path, prepared)

    log("for comparison: the same upsert as a Core statement")
    variant_path = ctx.workdir / "variant.db"
    variant, variant_business = await ingest_variant(fresh_database(template, variant_path), mapped)
    # The calculators benchmark reads this company's snapshot; spare it loading the rows again.
    keep_synced_database(ctx.cache, company, variant_path, variant_business)

    json_today, json_msgspec = raw_encoding(mapped)

    rows = measured.rows
    report.note(
        f"{rows:,} entities (+{measured.lines:,} lines) in {page_count} pages of a generated "
        f"{size:,}-entity company; SQLite file, one transaction per page"
    )
    report.metric("ingest rows/s (decode + map + upsert, as a full sync)", rows / pipelined, "rows/s")
    report.metric("baseline rows/s (sqlite3.executemany)", rows / baseline, "rows/s")
    report.metric("ingest ratio (ingest ÷ baseline rows/s)", baseline / pipelined, target=at_least(0.5))
    report.metric("for comparison: one phase after another in one process: ratio", baseline / measured.total)
    report.metric("one after another: decode share (page split)", measured.parse / measured.total)
    report.metric("one after another: map share (parse each object + map)", measured.map / measured.total)
    report.metric("one after another: upsert share", measured.upsert / measured.total)
    report.metric("upsert_entities µs per row", measured.upsert / rows * 1e6, "µs")
    report.metric("for comparison: Core-statement upsert µs per row", variant / rows * 1e6, "µs")
    report.metric(
        "for comparison: ratio with the Core-statement upsert",
        baseline / (measured.parse + measured.map + variant),
    )
    report.metric("raw JSON before (json_safe + json.dumps) µs per row", json_today / rows * 1e6, "µs")
    report.metric(
        "raw JSON re-encoded with msgspec (no longer done) µs per row", json_msgspec / rows * 1e6, "µs"
    )
