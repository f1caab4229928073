"""Bench infrastructure: helpers shared by the screen benchmarks (ratios, serial timing, seeded companies)."""

from __future__ import annotations

import os
import re
import time
from typing import Any

from bench.client import LoopbackClient
from bench.load import LoadResult, Req
from bench.qbo_rig import BENCH_TODAY
from bench.registry import Report, at_most, log


def open_bills_company(size: int) -> tuple[Any, list[str]]:
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


def business_id_from(output: str) -> int:
    match = re.search(r"business(?: id)?[^0-9]{0,5}(\d+)", output, re.IGNORECASE)
    if match is None:
        raise RuntimeError(f"no business id in the seed output:\n{output[-1000:]}")
    return int(match.group(1))


def report_ratios(
    report: Report, label: str, screen: LoadResult, base: LoadResult, p99_target: float
) -> None:
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
    note_stolen(report, label, screen, base)
    log(f"{label}: screen {screen.summary()}")
    log(f"{label}: baseline {base.summary()}")


def note_stolen(
    report: Report,
    label: str,
    screen: LoadResult,
    base: LoadResult,
    names: tuple[str, str] = ("the screen's", "the baseline's"),
) -> None:
    """A note when the host took processor time during either side's rounds: a pause of the virtual
    machine, which the requests of those rounds waited through (see `LoadResult.stolen_ms`)."""
    if screen.stolen_ms or base.stolen_ms:
        report.note(
            f"{label}: the host stole {screen.stolen_ms:.0f} ms of processor time during {names[0]} "
            f"rounds, {base.stolen_ms:.0f} ms during {names[1]}"
        )


def settle_writes() -> None:
    """Write the kernel's dirty pages out now (`sync`), after seeding: tens of megabytes of fresh database
    files (and whatever ran before the benchmark) are otherwise written back in the middle of the measured
    rounds, where SQLite's checkpoints wait for the disk. Seen here: idle rounds right after heavy disk
    work had p99 of 13-42 ms, against 6-7; the first run with this had 6.0 ms."""
    os.sync()


async def serial_ms(client: LoopbackClient, requests: list[Req]) -> float:
    """Median service time of requests sent one at a time (no queueing)."""
    times: list[float] = []
    for req in requests:
        start = time.perf_counter()
        response = await client.request(req.method, req.path, data=req.data, headers=req.headers)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code not in req.expect:
            # The request id finds the server's log line (kept with `--keep`, in the server's data dir).
            request_id = response.headers.get("x-request-id", "?")
            raise RuntimeError(
                f"{req.method} {req.path} answered {response.status_code} (request id {request_id}): "
                f"{response.text[:300]}"
            )
    times.sort()
    return times[len(times) // 2]
