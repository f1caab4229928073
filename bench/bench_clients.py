"""Benchmark: `GET /clients` for a firm of 50 and 500 clients ÷ a baseline rendering as many rows (issue 7).

The businesses are inserted with one stored summary row each (`domains.summaries.repository.upsert_summary`),
which is what the page reads.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench.baseline import baseline_read, baseline_server
from bench.client import LoopbackClient
from bench.load import LoadResult, Req, interleaved
from bench.qbo_rig import BENCH_TODAY
from bench.registry import BenchContext, Report, at_most, benchmark
from bench.screens import report_ratios
from bench.servers import DEMO_ADVISOR, DEMO_FIRM, login, prepare_data_dir, runway_env, runway_server


async def _add_clients(data_dir: Path, count: int) -> None:
    """`count` businesses in the demo firm, each with one stored summary row (what /clients reads)."""
    from sqlalchemy import select

    from domains.core.db import Database
    from domains.core.models import Business, Firm
    from domains.summaries.repository import upsert_summary

    db = Database(runway_env(data_dir)["RUNWAY_DATABASE_URL"])
    try:
        async with db.write() as session:
            firm_id = await session.scalar(select(Firm.id).where(Firm.name == DEMO_FIRM))
            statuses = ("red", "amber", "green")
            for number in range(count):
                business = Business(name=f"Client {number:04d} Ltd", firm_id=firm_id)
                session.add(business)
                await session.flush()
                await upsert_summary(
                    session,
                    business.id,
                    as_of=BENCH_TODAY,
                    currency="USD",
                    cash_now_cents=1_000_000 + number * 1_000,
                    cash_net_of_cards_cents=900_000 + number * 1_000,
                    runway_days=10 + number % 200,
                    runway_weeks=f"{(10 + number % 200) / 7:.1f}",
                    cash_zero_date=BENCH_TODAY + dt.timedelta(days=10 + number % 200),
                    status=statuses[number % 3],
                    lowest_cash_cents=100_000,
                    lowest_cash_week=3,
                    lowest_cash_week_start=BENCH_TODAY,
                    bills_due_count=number % 9,
                    bills_due_cents=50_000 * (number % 9),
                    overdue_invoices_count=number % 5,
                    overdue_invoices_cents=40_000 * (number % 5),
                    hygiene_score=80,
                    issues_high=number % 3,
                    decisions_waiting=number % 4,
                    top_decisions=[],
                )
    finally:
        await db.dispose()


@benchmark(
    "client_list",
    issue=7,
    order=55,
    summary="/clients for 500 clients ÷ baseline 500-row read (<= 2); 50 → 500 growth",
)
async def client_list(ctx: BenchContext, report: Report) -> None:
    duration, rounds, rate = (2.0, 1, 10.0) if ctx.quick else (5.0, 2, 10.0)
    results: dict[int, tuple[LoadResult, LoadResult]] = {}
    for count in (50, 500):
        data_dir = prepare_data_dir(ctx.scratch(f"clients-{count}"))
        await _add_clients(data_dir, count)
        with runway_server(data_dir) as server, baseline_server(ctx.scratch(f"base-{count}")) as base:
            async with LoopbackClient(server.url) as app, LoopbackClient(base.url) as base_client:
                await login(app, DEMO_ADVISOR)
                page = await app.get("/clients")
                if page.status_code != 200:
                    raise RuntimeError(f"GET /clients answered {page.status_code}")
                shown = page.text.count("Client ")
                report.note(f"{count} clients: page {len(page.text):,} bytes, 'Client ' occurs {shown}x")
                pair = await interleaved(
                    {
                        "clients": (app, lambda _i: Req("GET", "/clients")),
                        "baseline": (base_client, baseline_read(count)),
                    },
                    rate=rate,
                    duration=duration,
                    rounds=rounds,
                )
        results[count] = (pair["clients"], pair["baseline"])
        report_ratios(report, f"/clients {count}", pair["clients"], pair["baseline"], 2)
    small, large = results[50][0], results[500][0]
    report.metric(
        "growth 50 → 500 clients (p50)", large.p50_ms / max(small.p50_ms, 1e-9), "x", target=at_most(10)
    )
    report.note(
        f"{rate:g} req/s, {rounds} interleaved round(s) of {duration:g} s; baseline renders as many rows"
    )
