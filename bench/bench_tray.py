"""Benchmark: the firm Hygiene Tray with ~2,000 open issues ÷ a baseline rendering as many rows (issue 5).

A firm's clients are generated wholesale companies with the hygiene problems bookkeepers meet (bills left
open long past due, bills without a due date, vendors without terms), each seeded through the sandbox and
synced (`seed_company`), as a user's company would be. The firm tray page (`GET /firm/hygiene`) is measured
against the baseline read of as many rows as the firm has open issues, and a triage action from the firm
tray (`POST .../dismiss` as htmx sends it, each on an issue not triaged before) against the baseline
one-row write at the same rate; both interleaved round by round at a fixed open-loop rate.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.baseline import baseline_read, baseline_server, baseline_write
from bench.client import LoopbackClient
from bench.load import Req, interleaved
from bench.qbo_rig import BENCH_TODAY
from bench.registry import BenchContext, Report, benchmark
from bench.screens import report_ratios, serial_ms
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

# Fixed open-loop rates a busy firm could offer (several bookkeepers paging and triaging at once), low
# enough that the baseline itself is not saturated on this shared 2-core machine: its 2,000-row read
# takes ~60-110 ms of one core.
PAGE_RATE = 5.0
ACTION_RATE = 20.0
_COUNT = re.compile(r'data-count="(high|medium|low)"><dt>[^<]*</dt><dd>(\d+)</dd>')


def messy_client(size: int, number: int) -> Any:
    """`generate_large_company(size)` with the problems a backlog is made of.

    Every bill and invoice is left unpaid (the payments dropped), so the old ones are stale; every sixth
    bill has no due date; every third vendor has no terms.
    """
    from domains.qbo.demo import generate_large_company

    company = generate_large_company(size, today=BENCH_TODAY, seed=number)
    company.entities.pop("BillPayment", None)
    company.entities.pop("Payment", None)
    for invoice in company.entities["Invoice"]:
        invoice["Balance"] = invoice["TotalAmt"]
        invoice.pop("LinkedTxn", None)
    for index, bill in enumerate(company.entities["Bill"]):
        bill["Balance"] = bill["TotalAmt"]
        bill.pop("LinkedTxn", None)
        if index % 6 == 0:
            bill.pop("DueDate", None)
            bill.pop("SalesTermRef", None)
    for index, vendor in enumerate(company.entities["Vendor"]):
        if index % 3 == 0:
            vendor.pop("TermRef", None)
    return dataclasses.replace(company, name=f"Client {number:02d} Wholesale")


def open_counts(html: str) -> int:
    return sum(int(count) for _severity, count in _COUNT.findall(html))


async def register_targets(data_dir: Path) -> list[str]:
    """Dismiss URLs of the firm's open issues, read from the tray's register (the tray fills it on its
    first view), highest severity first as the tray lists them."""
    from sqlalchemy import text

    from domains.core.db import Database

    db = Database(runway_env(data_dir)["RUNWAY_DATABASE_URL"])
    try:
        async with db.read() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT business_id, rule, entity_type, qbo_id FROM hygiene_issues "
                        "WHERE status = 'open' ORDER BY CASE severity WHEN 'high' THEN 0 "
                        "WHEN 'medium' THEN 1 ELSE 2 END, amount_cents DESC, id"
                    )
                )
            ).all()
    finally:
        await db.dispose()
    return [
        f"/b/{business_id}/hygiene/issues/{quote(rule, safe='')}/{quote(entity_type, safe='')}/"
        f"{quote(qbo_id or '-', safe='')}/dismiss"
        for business_id, rule, entity_type, qbo_id in rows
    ]


@benchmark(
    "hygiene_tray",
    issue=5,
    order=57,
    summary="firm tray, ~2,000 open issues ÷ baseline read of as many rows (<= 2); dismiss ÷ write (<= 2)",
)
async def hygiene_tray(ctx: BenchContext, report: Report) -> None:
    clients, size, duration, rounds = (2, 3_000, 4.0, 1) if ctx.quick else (4, 1_600, 6.0, 2)
    data_dir = prepare_data_dir(ctx.scratch("app"))
    for number in range(1, clients + 1):
        seed_company(data_dir, messy_client(size, number), firm=DEMO_FIRM)

    with runway_server(data_dir) as server, baseline_server(ctx.scratch("baseline")) as base:
        async with LoopbackClient(server.url) as app, LoopbackClient(base.url) as base_client:
            token = await login(app, DEMO_ADVISOR)
            headers = csrf_headers(token)
            first = await app.get("/firm/hygiene")
            if first.status_code != 200:
                raise RuntimeError(f"GET /firm/hygiene answered {first.status_code}")
            issues = open_counts(first.text)
            rows_shown = first.text.count("data-keynav-item")
            report.metric("open issues in the firm", issues, "")
            report.note(
                f"{clients} clients ({size:,}-entity generated companies, bills left open, some without due "
                f"dates or terms), {issues:,} open issues; the page shows {rows_shown} rows "
                f"({len(first.text):,} bytes) and the baseline renders {issues:,}; SQLite"
            )
            # Each action triages an issue not triaged before.
            targets = await register_targets(data_dir)
            fresh = iter(targets)

            def action(_index: int) -> Req:
                return Req("POST", next(fresh), data={"scope": "firm", "q": ""}, headers=headers)

            page = Req("GET", "/firm/hygiene")
            serial_page = await serial_ms(app, [page] * 3)
            serial_read = await serial_ms(base_client, [baseline_read(issues)(0)] * 3)
            serial_shown = await serial_ms(base_client, [baseline_read(max(rows_shown, 1))(0)] * 3)
            serial_action = await serial_ms(app, [action(i) for i in range(5)])
            serial_write = await serial_ms(base_client, [baseline_write()(i) for i in range(5)])
            report.metric("firm tray service time (serial, median)", serial_page, "ms")
            report.metric(f"firm tray ÷ baseline {issues}-row read (serial)", serial_page / serial_read, "x")
            report.metric(
                f"firm tray ÷ baseline {rows_shown}-row read, the rows shown (serial)",
                serial_page / serial_shown,
                "x",
            )
            report.metric("dismiss service time (serial, median)", serial_action, "ms")
            report.metric("dismiss ÷ baseline write (serial)", serial_action / serial_write, "x")

            pages = await interleaved(
                {
                    "firm tray": (app, lambda _i: page),
                    "baseline read": (base_client, baseline_read(issues)),
                },
                rate=PAGE_RATE,
                duration=duration,
                rounds=rounds,
            )
            report_ratios(report, "firm tray", pages["firm tray"], pages["baseline read"], 2)
            needed = int(ACTION_RATE * (duration + 1.0) * rounds) + 10
            if needed > len(targets):
                raise RuntimeError(f"{len(targets)} issues are too few for {needed} distinct actions")
            actions = await interleaved(
                {"dismiss": (app, action), "baseline write": (base_client, baseline_write())},
                rate=ACTION_RATE,
                duration=duration,
                rounds=rounds,
            )
            report_ratios(report, "dismiss", actions["dismiss"], actions["baseline write"], 2)
    report.note(
        f"page at {PAGE_RATE:g} req/s, dismiss at {ACTION_RATE:g} req/s (scope=firm, htmx), "
        f"{rounds} interleaved round(s) of {duration:g} s; serial = one request at a time"
    )
