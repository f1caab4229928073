"""Benchmark: the baseline itself (issue 6 infrastructure) — what the bare stack does at 100 requests/s.

Screen benchmarks divide their percentiles by these, measured again in their own run. This one shows
the floor and the noise of this machine: the load generator against a handler that does nothing
(`/health`), the baseline read of 50 rows, and the baseline one-row write, on SQLite and (when the server
binaries are installed) PostgreSQL, each pooled over interleaved rounds.
"""

from __future__ import annotations

from bench.baseline import baseline_read, baseline_server, baseline_write
from bench.client import LoopbackClient
from bench.load import LoadResult, Req, interleaved
from bench.postgres import throwaway_cluster
from bench.registry import BenchContext, Report, benchmark, log

RATE = 100.0


def _report(report: Report, label: str, result: LoadResult) -> None:
    report.metric(f"{label} p50", result.p50_ms, "ms")
    report.metric(f"{label} p99", result.p99_ms, "ms")
    if result.error_count:
        report.metric(f"{label} errors", result.error_count, f"of {result.planned}")
    log(f"{label}: {result.summary()}")


@benchmark(
    "baseline",
    issue=6,
    order=5,
    summary="the bare stack at 100 req/s: generator floor, 50-row read, one-row write (SQLite, PostgreSQL)",
)
async def baseline(ctx: BenchContext, report: Report) -> None:
    duration, rounds = (3.0, 1) if ctx.quick else (5.0, 2)
    with baseline_server(ctx.scratch("sqlite")) as server:
        async with LoopbackClient(server.url) as client:
            results = await interleaved(
                {
                    "generator floor (/health)": (client, lambda _i: Req("GET", "/health")),
                    "SQLite read 50 rows": (client, baseline_read(50)),
                    "SQLite write 1 row": (client, baseline_write()),
                },
                rate=RATE,
                duration=duration,
                rounds=rounds,
            )
    for label, result in results.items():
        _report(report, label, result)
    with throwaway_cluster() as cluster:
        if cluster is None:
            report.note("PostgreSQL server binaries not installed: PostgreSQL baseline not measured")
            return
        url = cluster.create_database("baseline")
        with baseline_server(ctx.scratch("postgres"), database_url=url) as server:
            async with LoopbackClient(server.url) as client:
                results = await interleaved(
                    {
                        "PostgreSQL read 50 rows": (client, baseline_read(50)),
                        "PostgreSQL write 1 row": (client, baseline_write()),
                    },
                    rate=RATE,
                    duration=duration,
                    rounds=rounds,
                )
    for label, result in results.items():
        _report(report, label, result)
    report.note(
        f"open loop at {RATE:g} req/s, {rounds} interleaved round(s) of {duration:g} s each (after 1 s "
        "warm-up); PostgreSQL runs with fsync off"
    )
