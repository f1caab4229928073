"""Benchmark: full-sync pace against QBO's rate limits, and full-sync time as a company grows (issue 3).

Both run `SmartSyncService.sync_now(business_id, full=True)` in this process against the QBO sandbox
served by `python -m domains.qbo.sandbox serve` in another process (as QBO is another machine), over real
loopback HTTP, into a migrated SQLite file.

* `sync_pace`: the sandbox enforces QBO's limits (10 requests/s and 500/min per realm, 429 with the XML
  fault beyond) and answers every query page 300 ms late. The ceiling is the least time those limits allow
  for the requests the sync made (`ceiling_seconds`); the figure is entities/minute achieved divided by
  entities/minute at the ceiling, i.e. ceiling time ÷ wall time.
* `full_sync`: no latency and no limits; wall time for a 5k and a 50k company and the growth factor.

Each run also records where the time went: CPU time of this process, time with no QBO request in flight,
and the mean number of requests in flight.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.qbo_rig import (
    SeededCompany,
    ceiling_seconds,
    fresh_database,
    requests_needed,
    runway_template,
    seeded_company,
    sync_rig,
    upsert_executemany,
)
from bench.registry import BenchContext, Report, at_least, at_most, benchmark, log
from bench.servers import sandbox_server
from domains.qbo import smart_sync

PACE_FAULTS = {"rate_limits": True, "query_latency_ms": 300}


@dataclass
class SyncRun:
    status: str
    error: str | None
    entities: int
    wall_s: float
    cpu_s: float
    requests: int
    throttled: int
    idle_s: float
    mean_in_flight: float


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_sync(
    ctx: BenchContext, company: SeededCompany, sandbox_url: str, label: str, faults: dict[str, Any] | None
) -> SyncRun:
    """One full sync of `company` into a fresh Runway database; returns its measurements."""
    url = fresh_database(runway_template(ctx.cache), ctx.workdir / f"{label}.db")
    async with sync_rig(url, sandbox_url, company.realm_id, faults=faults) as rig:
        cpu0, t0 = _cpu(), time.perf_counter()
        outcome = await rig.smart_sync.sync_now(rig.business_id, full=True)
        t1, cpu1 = time.perf_counter(), _cpu()
        traffic = rig.traffic
        run = SyncRun(
            status=outcome.status,
            error=outcome.error,
            entities=outcome.rows_written,
            wall_s=t1 - t0,
            cpu_s=cpu1 - cpu0,
            requests=traffic.realm_requests,
            throttled=traffic.statuses.get(429, 0),
            idle_s=(t1 - t0) - traffic.busy_seconds(t0, t1),
            mean_in_flight=traffic.mean_in_flight(t0, t1),
        )
    log(
        f"{label}: {run.status}, {run.entities:,} entities in {run.wall_s:.1f} s "
        f"(CPU {run.cpu_s:.1f} s, {run.requests} requests, {run.throttled} x 429, "
        f"no request in flight for {run.idle_s:.1f} s)"
    )
    return run


@benchmark(
    "sync_pace",
    issue=3,
    order=10,
    summary="full sync with QBO's limits and 300 ms pages: entities/min ÷ the limits' ceiling (>= 0.8)",
)
async def sync_pace(ctx: BenchContext, report: Report) -> None:
    size, runs = (10_000, 1) if ctx.quick else (50_000, 2)
    company = await seeded_company(ctx.cache, size)
    results: list[SyncRun] = []
    with sandbox_server(company.db_path, log_path=ctx.workdir / "sandbox.log") as sandbox:
        for index in range(runs):
            results.append(await run_sync(ctx, company, sandbox.url, f"pace-{index + 1}", PACE_FAULTS))
    failed = [r for r in results if r.status != "succeeded" or r.entities != company.synced_entities]
    ok = [r for r in results if r not in failed]
    needed = requests_needed(company.counts)
    report.note(
        f"{company.synced_entities:,}-entity company, {runs} run(s); sandbox with rate_limits=True, "
        f"query_latency_ms=300; the minimum for this company is {needed} requests "
        f"(ceiling {ceiling_seconds(needed):.1f} s)"
    )
    report.metric("failed runs", len(failed), f"of {runs}", target=at_most(0))
    for run in failed:
        report.note(f"failed run: {run.status} {run.error or ''} ({run.entities:,} entities)")
    if not ok:
        return
    best = min(ok, key=lambda r: r.wall_s)
    worst = max(ok, key=lambda r: r.wall_s)
    ceiling = ceiling_seconds(worst.requests)
    report.metric(
        "pace ratio (entities/min ÷ ceiling), slowest run", ceiling / worst.wall_s, target=at_least(0.8)
    )
    report.metric("pace ratio, fastest run", ceiling_seconds(best.requests) / best.wall_s)
    report.metric("entities/min, slowest run", worst.entities / worst.wall_s * 60, "entities/min")
    report.metric("ceiling entities/min", worst.entities / ceiling * 60 if ceiling else 0, "entities/min")
    report.metric("wall time, slowest run", worst.wall_s, "s")
    report.metric("ceiling time for the requests made", ceiling, "s")
    report.metric("requests made", worst.requests)
    report.metric("requests needed (one per page, plus 2)", needed)
    report.metric("429 responses, all runs", sum(r.throttled for r in results), target=at_most(0))
    report.metric("CPU time of the syncing process", worst.cpu_s, "s")
    report.metric("time with no QBO request in flight", worst.idle_s, "s")
    report.metric("mean QBO requests in flight", worst.mean_in_flight)


@benchmark(
    "full_sync",
    issue=3,
    order=15,
    summary="full sync of a 50,000-entity company (no latency, no limits) and its growth from 5k",
)
async def full_sync(ctx: BenchContext, report: Report) -> None:
    small_size, large_size = (1_000, 10_000) if ctx.quick else (5_000, 50_000)
    runs: dict[int, SyncRun] = {}
    for size in (small_size, large_size):
        company = await seeded_company(ctx.cache, size)
        with sandbox_server(company.db_path, log_path=ctx.workdir / f"sandbox-{size}.log") as sandbox:
            run = await run_sync(ctx, company, sandbox.url, f"full-{size}", None)
        if run.status != "succeeded" or run.entities != company.synced_entities:
            raise RuntimeError(f"the {size:,}-entity sync did not complete: {run.status} {run.error}")
        runs[size] = run
    small, large = runs[small_size], runs[large_size]
    report.note(
        f"{small.entities:,} and {large.entities:,} entities; sandbox without latency or limits, "
        "SQLite file; 'growth' is time(large) ÷ time(small) for 10x the entities"
    )
    report.metric(f"full sync time, {large.entities:,} entities", large.wall_s, "s")
    report.metric(f"full sync time, {small.entities:,} entities", small.wall_s, "s")
    report.metric("growth for 10x entities", large.wall_s / small.wall_s, "x")
    report.metric("growth of CPU time for 10x entities", large.cpu_s / small.cpu_s, "x")
    report.metric(f"µs per entity at {large.entities:,}", large.wall_s / large.entities * 1e6, "µs")
    report.metric("CPU share of wall time (large)", large.cpu_s / large.wall_s)
    report.metric("entities/min (large)", large.entities / large.wall_s * 60, "entities/min")


@contextmanager
def executemany_upsert() -> Iterator[None]:
    """Within the block, SmartSync stores pages with `upsert_executemany` instead of `upsert_entities`."""
    original = smart_sync.upsert_entities
    smart_sync.upsert_entities = upsert_executemany  # type: ignore[assignment]
    try:
        yield
    finally:
        smart_sync.upsert_entities = original


@benchmark(
    "sync_pace_whatif",
    issue=3,
    order=12,
    default=False,
    summary="sync_pace with SmartSync storing pages through an upsert without per-row checks",
)
async def sync_pace_whatif(ctx: BenchContext, report: Report) -> None:
    size = 10_000 if ctx.quick else 50_000
    company = await seeded_company(ctx.cache, size)
    with sandbox_server(company.db_path, log_path=ctx.workdir / "sandbox.log") as sandbox:
        current = await run_sync(ctx, company, sandbox.url, "pace-current", PACE_FAULTS)
        with executemany_upsert():
            changed = await run_sync(ctx, company, sandbox.url, "pace-unchecked", PACE_FAULTS)
    for label, run in (("current", current), ("unchecked upsert", changed)):
        if run.status != "succeeded" or run.entities != company.synced_entities:
            raise RuntimeError(f"{label} run did not complete: {run.status} {run.error}")
        report.metric(f"pace ratio, {label}", ceiling_seconds(run.requests) / run.wall_s)
        report.metric(f"wall time, {label}", run.wall_s, "s")
        report.metric(f"CPU time, {label}", run.cpu_s, "s")
    report.note(
        f"{company.synced_entities:,} entities, same sandbox faults as sync_pace; only the upsert differs "
        "(bench.qbo_rig.upsert_executemany: same statement, no de-duplication or column checks)"
    )
