"""Benchmark: screens of the real app under open-loop load ÷ the baseline in the same run (issues 6, 7).

* `console_keys` (issue 6): decision keypresses (`POST /b/{id}/console/items/bill/{qbo_id}`, action skip
  or schedule, as htmx sends them) on a business with about 10,000 open bills, at 100 requests/s,
  interleaved with the baseline one-row write at the same rate; p50 and p99 ratios. The same data dir
  also gives the dashboard (`GET /b/{id}`) of that company ÷ the baseline 50-row read (issue 7).
  The business is `generate_large_company` with every bill left unpaid (its BillPayments dropped and
  each bill's Balance set to its total), seeded through the sandbox and synced (`seed_company`).
* `client_list` (issue 7): `GET /clients` for a firm of 50 and of 500 clients ÷ the baseline rendering the
  same number of rows; the businesses are inserted with one stored summary row each
  (`domains.summaries.repository.upsert_summary`), which is what the page reads.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from pathlib import Path
from typing import Any

from bench.baseline import baseline_read, baseline_server, baseline_write
from bench.client import LoopbackClient
from bench.load import LoadResult, Req, interleaved
from bench.qbo_rig import BENCH_TODAY
from bench.registry import BenchContext, Report, at_most, benchmark, log
from bench.servers import (
    DEMO_ADVISOR,
    DEMO_FIRM,
    csrf_headers,
    login,
    prepare_data_dir,
    runway_env,
    runway_server,
    seed_company,
)

RATE = 100.0


def _open_bills_company(size: int) -> tuple[Any, list[str]]:
    """`generate_large_company(size)` with every bill open; returns it and the open bills' ids."""
    from domains.qbo.demo import generate_large_company

    company = generate_large_company(size, today=BENCH_TODAY)
    company.entities.pop("BillPayment", None)
    ids: list[str] = []
    for bill in company.entities["Bill"]:
        bill["Balance"] = bill["TotalAmt"]
        bill.pop("LinkedTxn", None)
        ids.append(str(bill["Id"]))
    return company, ids


def _business_id(output: str) -> int:
    import re

    match = re.search(r"business(?: id)?[^0-9]{0,5}(\d+)", output, re.IGNORECASE)
    if match is None:
        raise RuntimeError(f"no business id in the seed output:\n{output[-1000:]}")
    return int(match.group(1))


def _ratios(report: Report, label: str, screen: LoadResult, base: LoadResult, p99_target: float) -> None:
    report.metric(f"{label} completed", screen.completed, f"of {screen.planned}")
    if not screen.completed:
        report.note(f"{label}: every request failed {dict(screen.errors)}; no percentile, no ratio")
        log(f"{label}: screen {screen.summary()}")
        return
    report.metric(f"{label} p50", screen.p50_ms, "ms")
    report.metric(f"{label} p99", screen.p99_ms, "ms")
    report.metric(f"{label} baseline p50", base.p50_ms, "ms")
    report.metric(f"{label} baseline p99", base.p99_ms, "ms")
    report.metric(f"{label} p50 ratio", screen.p50_ms / max(base.p50_ms, 1e-9), "x")
    report.metric(
        f"{label} p99 ratio", screen.p99_ms / max(base.p99_ms, 1e-9), "x", target=at_most(p99_target)
    )
    if screen.error_count or base.error_count:
        report.note(f"{label}: errors screen {dict(screen.errors)} / baseline {dict(base.errors)}")
    log(f"{label}: screen {screen.summary()}")
    log(f"{label}: baseline {base.summary()}")


async def _serial_ms(client: LoopbackClient, requests: list[Req]) -> float:
    """Median service time of requests sent one at a time (no queueing)."""
    times: list[float] = []
    for req in requests:
        start = time.perf_counter()
        response = await client.request(req.method, req.path, data=req.data, headers=req.headers)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code not in req.expect:
            raise RuntimeError(
                f"{req.method} {req.path} answered {response.status_code}: {response.text[:600]}"
            )
    times.sort()
    return times[len(times) // 2]


@benchmark(
    "console_keys",
    issue=6,
    order=50,
    summary="keypress on ~10k open bills at 100 req/s ÷ baseline write (p99 <= 2); dashboard ÷ read (<= 3)",
)
async def console_keys(ctx: BenchContext, report: Report) -> None:
    size, duration, rounds = (8_000, 3.0, 1) if ctx.quick else (40_000, 5.0, 2)
    company, bill_ids = _open_bills_company(size)
    data_dir = prepare_data_dir(ctx.scratch("app"))
    output = seed_company(data_dir, company, firm=DEMO_FIRM)
    business_id = _business_id(output)
    report.note(f"{len(bill_ids):,} open bills ({size:,}-entity company, bill payments dropped); SQLite")
    verbs = itertools.cycle(("skip", "schedule"))
    plan_on = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    fresh = iter(bill_ids)

    with runway_server(data_dir) as server, baseline_server(ctx.scratch("baseline")) as base:
        async with LoopbackClient(server.url) as app, LoopbackClient(base.url) as base_client:
            token = await login(app, DEMO_ADVISOR)
            headers = csrf_headers(token)

            def keypress(_index: int) -> Req:
                qbo_id = next(fresh)  # each request decides a bill not decided before, as "seen": none
                return Req(
                    "POST",
                    f"/b/{business_id}/console/items/bill/{qbo_id}",
                    data={"action": next(verbs), "seen": "none", "on": plan_on},
                    headers=headers,
                )

            dashboard = Req("GET", f"/b/{business_id}")
            serial_key = await _serial_ms(app, [keypress(0) for _ in range(10)])
            serial_dash = await _serial_ms(app, [dashboard] * 5)
            serial_write = await _serial_ms(base_client, [baseline_write()(i) for i in range(10)])
            serial_read = await _serial_ms(base_client, [baseline_read(50)(0)] * 5)
            report.metric("keypress service time (serial, median)", serial_key, "ms")
            report.metric("keypress ÷ baseline write (serial)", serial_key / serial_write, "x")
            report.metric("dashboard service time (serial, median)", serial_dash, "ms")
            report.metric("dashboard ÷ baseline 50-row read (serial)", serial_dash / serial_read, "x")
            keys = await interleaved(
                {"keypress": (app, keypress), "baseline write": (base_client, baseline_write())},
                rate=RATE,
                duration=duration,
                rounds=rounds,
            )
            _ratios(report, "keypress", keys["keypress"], keys["baseline write"], 2)
            dash_rate = 10.0
            dash = await interleaved(
                {
                    "dashboard": (app, lambda _i: dashboard),
                    "baseline read": (base_client, baseline_read(50)),
                },
                rate=dash_rate,
                duration=duration,
                rounds=rounds,
            )
            _ratios(report, "dashboard", dash["dashboard"], dash["baseline read"], 3)
    report.note(
        f"keypress at {RATE:g} req/s, dashboard at {dash_rate:g} req/s (vs baseline read of 50 rows), "
        f"{rounds} interleaved round(s) of {duration:g} s; serial = one request at a time"
    )


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
        _ratios(report, f"/clients {count}", pair["clients"], pair["baseline"], 2)
    small, large = results[50][0], results[500][0]
    report.metric(
        "growth 50 → 500 clients (p50)", large.p50_ms / max(small.p50_ms, 1e-9), "x", target=at_most(10)
    )
    report.note(
        f"{rate:g} req/s, {rounds} interleaved round(s) of {duration:g} s; baseline renders as many rows"
    )
