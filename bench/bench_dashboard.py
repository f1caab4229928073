"""Benchmark: the runway dashboard (`GET /b/{id}`) of the largest demo company ÷ the baseline read (issue 7).

The largest of `domains.qbo.demo.demo_companies` (by entity count; Brightside Landscaping, the messy one)
goes through `runway sandbox seed` into a fresh data dir, as `make run` loads it, and is synced there. The
dashboard is requested as the demo advisor, interleaved round by round with the baseline read of 50 rows
(about what the dashboard renders: 13 grid rows, 13 chart bars, 14 aging rows, 3 decisions, 4 figures),
open loop; plus the median service time of each, one request at a time, and of a dashboard for an explicit
date (computed on every request, as every view was before the figures were stored).
"""

from __future__ import annotations

import datetime as dt

from bench.baseline import baseline_read, baseline_server
from bench.client import LoopbackClient
from bench.load import Req, interleaved
from bench.registry import BenchContext, Report, at_most, benchmark
from bench.screens import business_id_from, report_ratios, serial_ms
from bench.servers import DEMO_ADVISOR, DEMO_FIRM, login, prepare_data_dir, runway_server, seed_company

BASELINE_ROWS = 50


def largest_demo_company(today: dt.date):  # type: ignore[no-untyped-def]
    """The demo company with the most QBO entities, and that count."""
    from domains.qbo.demo import demo_companies

    sized = [(sum(len(docs) for docs in c.entities.values()), c) for c in demo_companies(today)]
    count, company = max(sized, key=lambda pair: pair[0])
    return company, count


@benchmark(
    "dashboard",
    issue=7,
    order=56,
    summary="dashboard of the largest demo company ÷ baseline 50-row read (<= 3)",
)
async def dashboard(ctx: BenchContext, report: Report) -> None:
    duration, rounds, rate = (3.0, 1, 10.0) if ctx.quick else (5.0, 3, 15.0)
    # Demo data is dated relative to today, as `runway demo` generates it.
    today = dt.date.today()
    company, entities = largest_demo_company(today)
    data_dir = prepare_data_dir(ctx.scratch("app"))
    business_id = business_id_from(seed_company(data_dir, company, firm=DEMO_FIRM))
    report.note(f"{company.name} ({company.profile}): {entities:,} QBO entities, the largest demo company")

    with runway_server(data_dir) as server, baseline_server(ctx.scratch("baseline")) as base:
        async with LoopbackClient(server.url) as app, LoopbackClient(base.url) as base_client:
            await login(app, DEMO_ADVISOR)
            page = await app.get(f"/b/{business_id}")
            if page.status_code != 200 or "forecast-chart" not in page.text:
                raise RuntimeError(f"GET /b/{business_id} answered {page.status_code} without the chart")
            report.note(f"dashboard page {len(page.text):,} bytes")
            view = Req("GET", f"/b/{business_id}")
            computed = Req("GET", f"/b/{business_id}?as_of={today.isoformat()}")
            read = baseline_read(BASELINE_ROWS)(0)
            serial_view = await serial_ms(app, [view] * 15)
            serial_computed = await serial_ms(app, [computed] * 7)
            serial_read = await serial_ms(base_client, [read] * 15)
            report.metric("dashboard service time (serial, median)", serial_view, "ms")
            report.metric(
                f"dashboard ÷ baseline {BASELINE_ROWS}-row read (serial)",
                serial_view / serial_read,
                "x",
                target=at_most(3),
            )
            report.metric("dashboard computed per request (explicit date; serial)", serial_computed, "ms")
            report.metric("computed ÷ stored dashboard (serial)", serial_computed / serial_view, "x")
            pair = await interleaved(
                {
                    "dashboard": (app, lambda _i: view),
                    "baseline read": (base_client, baseline_read(BASELINE_ROWS)),
                },
                rate=rate,
                duration=duration,
                rounds=rounds,
            )
            report_ratios(report, "dashboard", pair["dashboard"], pair["baseline read"], 3)
    report.note(
        f"{rate:g} req/s open loop, {rounds} interleaved round(s) of {duration:g} s against the baseline "
        f"read of {BASELINE_ROWS} rows; serial = one request at a time; SQLite"
    )
