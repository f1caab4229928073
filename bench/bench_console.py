"""Benchmark: decision keypresses and the dashboard of a business with ~10,000 open bills (issues 6, 7).

Decision keypresses (`POST /b/{id}/console/items/bill/{qbo_id}`, action skip or schedule, as htmx sends
them) at 100 requests/s, interleaved with the baseline one-row write at the same rate; p50 and p99
ratios. The same data dir also gives the dashboard (`GET /b/{id}`) of that company ÷ the baseline 50-row
read. The business is `generate_large_company` with every bill left unpaid (its BillPayments dropped and
each bill's Balance set to its total), seeded through the sandbox and synced (`seed_company`).
"""

from __future__ import annotations

import datetime as dt
import itertools

from bench.baseline import baseline_read, baseline_server, baseline_write
from bench.client import LoopbackClient
from bench.load import Req, interleaved
from bench.registry import BenchContext, Report, benchmark
from bench.screens import business_id_from, open_bills_company, report_ratios, serial_ms
from bench.servers import (
    DEMO_ADVISOR,
    DEMO_FIRM,
    csrf_headers,
    login,
    prepare_data_dir,
    runway_server,
    seed_company,
)

RATE = 100.0


@benchmark(
    "console_keys",
    issue=6,
    order=50,
    summary="keypress on ~10k open bills at 100 req/s ÷ baseline write (p99 <= 2); dashboard ÷ read (<= 3)",
)
async def console_keys(ctx: BenchContext, report: Report) -> None:
    size, duration, rounds = (8_000, 3.0, 1) if ctx.quick else (40_000, 5.0, 2)
    company, bill_ids = open_bills_company(size)
    data_dir = prepare_data_dir(ctx.scratch("app"))
    output = seed_company(data_dir, company, firm=DEMO_FIRM)
    business_id = business_id_from(output)
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
            serial_key = await serial_ms(app, [keypress(0) for _ in range(10)])
            serial_dash = await serial_ms(app, [dashboard] * 5)
            serial_write = await serial_ms(base_client, [baseline_write()(i) for i in range(10)])
            serial_read = await serial_ms(base_client, [baseline_read(50)(0)] * 5)
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
            report_ratios(report, "keypress", keys["keypress"], keys["baseline write"], 2)
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
            report_ratios(report, "dashboard", dash["dashboard"], dash["baseline read"], 3)
    report.note(
        f"keypress at {RATE:g} req/s, dashboard at {dash_rate:g} req/s (vs baseline read of 50 rows), "
        f"{rounds} interleaved round(s) of {duration:g} s; serial = one request at a time"
    )
