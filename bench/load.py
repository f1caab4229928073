"""Benchmark: the open-loop load generator — constant arrival rate against a loopback server.

Request i is launched at `start + i / rate` whether or not earlier requests have finished, and its latency
is measured from that *scheduled* moment to the end of the response. A slow server therefore shows up as
queueing delay in the percentiles instead of quietly lowering the offered rate (the closed-loop mistake
known as coordinated omission). Runs are bounded: at most `rate * duration` requests (capped), and every
request still open `drain` seconds after the last launch is cancelled and counted as an error.

    async with LoopbackClient(server.url) as client:
        result = await open_loop(client, lambda i: Req("GET", "/read?n=50"), rate=100, duration=5)
    result.p99_ms, result.errors
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.client import HttpError, LoopbackClient, Response
from domains.core import scheduling

MAX_REQUESTS = 50_000


@dataclass(frozen=True)
class Req:
    """One request to send: method, path (relative to the client's base URL), form data, headers."""

    method: str = "GET"
    path: str = "/"
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    expect: tuple[int, ...] = (200,)


RequestFactory = Callable[[int], Req]


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of an already sorted sequence; 0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(share * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


@dataclass
class LoadResult:
    """Latencies (ms, from the scheduled launch) of the measured requests, and what went wrong."""

    rate: float
    planned: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    launch_lag_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    # Processor time the host took from this machine while the run went on, over all its processors
    # (`stolen_ms`): a virtual machine's pause that its requests waited through, not this code's.
    stolen_ms: float = 0.0

    @property
    def completed(self) -> int:
        return len(self.latencies_ms)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def pct(self, share: float) -> float:
        return percentile(sorted(self.latencies_ms), share)

    @property
    def p50_ms(self) -> float:
        return self.pct(0.50)

    @property
    def p90_ms(self) -> float:
        return self.pct(0.90)

    @property
    def p99_ms(self) -> float:
        return self.pct(0.99)

    @property
    def max_ms(self) -> float:
        return max(self.latencies_ms, default=0.0)

    @property
    def launch_lag_p99_ms(self) -> float:
        """How late the generator itself launched requests; large values mean it was starved of CPU."""
        return percentile(sorted(self.launch_lag_ms), 0.99)

    def summary(self) -> str:
        errors = ", ".join(f"{kind} x{count}" for kind, count in self.errors.most_common()) or "none"
        return (
            f"{self.rate:g} req/s x {self.planned}: p50 {self.p50_ms:.1f} ms, p90 {self.p90_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms; errors {errors}; "
            f"launch lag p99 {self.launch_lag_p99_ms:.1f} ms"
            + (f"; host stole {self.stolen_ms:.0f} ms" if self.stolen_ms else "")
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "planned": self.planned,
            "completed": self.completed,
            "errors": dict(self.errors),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "launch_lag_p99_ms": self.launch_lag_p99_ms,
            "stolen_ms": self.stolen_ms,
        }


async def open_loop(
    client: LoopbackClient,
    make_request: RequestFactory,
    *,
    rate: float,
    duration: float,
    warmup: float = 1.0,
    drain: float = 10.0,
    check: Callable[[Response], bool] | None = None,
) -> LoadResult:
    """Offer `rate` requests/second for `warmup + duration` seconds; report only the last `duration`.

    `make_request(i)` builds request i (i counts from 0 across warm-up and measurement), so a benchmark
    can rotate through items. A response is an error when its status is not in `Req.expect` or `check`
    returns False. The client only talks to loopback addresses.
    """
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be positive")
    warm = int(rate * warmup)
    measured = int(rate * duration)
    total = warm + measured
    if total > MAX_REQUESTS:
        raise ValueError(f"{total} requests is more than this generator's bound of {MAX_REQUESTS}")
    result = LoadResult(rate=rate, planned=measured)

    async def one(index: int, scheduled: float) -> None:
        keep = index >= warm
        if keep:
            result.launch_lag_ms.append((time.perf_counter() - scheduled) * 1000)
        req = make_request(index)
        try:
            response = await client.request(req.method, req.path, data=req.data, headers=req.headers)
            ok = response.status_code in req.expect and (check is None or check(response))
            kind = None if ok else f"HTTP {response.status_code}"
        except HttpError as exc:
            kind = str(exc).split(":", 1)[0]
        if not keep:
            return
        if kind is None:
            result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
        else:
            result.errors[kind] += 1

    tasks: dict[asyncio.Task[None], int] = {}
    ticks_before = cpu_ticks()
    with generator_priority():
        # perf_counter, not loop.time(): some loops (uvloop) keep time in whole milliseconds.
        start = time.perf_counter() + 0.05
        for index in range(total):
            scheduled = start + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks[asyncio.create_task(one(index, scheduled))] = index
        done, pending = await asyncio.wait(tasks, timeout=drain)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
        result.errors["timeout"] += sum(1 for task in pending if tasks[task] >= warm)
    for task in done:
        error = task.exception()
        if error is not None and tasks[task] >= warm:
            result.errors[type(error).__name__] += 1
    result.wall_s = time.perf_counter() - start
    result.stolen_ms = stolen_ms(ticks_before, cpu_ticks())
    return result


# The generator's niceness while it offers load where real time is refused (`generator_priority`).
GENERATOR_NICENESS = -5


@contextlib.contextmanager
def generator_priority() -> Any:
    """While the generator offers load, its thread runs ahead of the processes it measures: in the lowest
    real-time class where the system allows it (root), else at a raised niceness (`GENERATOR_NICENESS`).

    The generator stands in for clients on other machines, and its lateness counts as latency. On two
    cores shared with the server, a sync process, the QBO sandbox and the mapping process, it was itself
    late by up to 4.5 ms (p99) during a full sync, against about 1 ms idle, which made the server look
    slower than it was. Raised niceness took that to about 2 ms; what was left came from wake-ups that
    found a processor running a sync's idle-class thread and waited for the next tick (4 ms here) to be
    let on, which a real-time thread does not. It needs a few percent of one processor at 100 requests/s,
    so the servers lose almost none to it, and while it waits for the network it leaves the processor.
    Where neither is allowed, it runs as it is: `launch_lag_ms` shows how late it was. On Linux both are
    the calling thread's alone."""
    with scheduling.in_real_time() as real_time, contextlib.ExitStack() as restore:
        if not real_time:
            _raised_niceness(restore)
        yield


def _raised_niceness(restore: contextlib.ExitStack) -> None:
    try:
        before = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, GENERATOR_NICENESS)
    except (AttributeError, OSError):
        return
    restore.callback(os.setpriority, os.PRIO_PROCESS, 0, before)


def cpu_ticks() -> list[int] | None:
    """The machine's processor time so far, by kind (Linux `/proc/stat`: user, nice, system, idle, iowait,
    irq, softirq, steal, ...), or None elsewhere."""
    try:
        with open("/proc/stat") as stat:
            return [int(field) for field in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None


# `/proc/stat`'s kinds of processor time used here, by position, and its unit (ticks per second).
_IDLE, _IOWAIT, _STEAL = 3, 4, 7
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _spent(before: list[int] | None, after: list[int] | None) -> list[int] | None:
    """Ticks of each kind between two `cpu_ticks` (the first eight kinds), or None where either is
    missing or short."""
    if before is None or after is None or len(before) <= _STEAL or len(after) <= _STEAL:
        return None
    return [a - b for a, b in zip(after[: _STEAL + 1], before[: _STEAL + 1], strict=True)]


def stolen_ms(before: list[int] | None, after: list[int] | None) -> float:
    """Processor time (ms, all processors together) the host took between two `cpu_ticks`; 0 where the
    machine does not say."""
    spent = _spent(before, after)
    return 0.0 if spent is None else spent[_STEAL] * 1000 / _TICKS_PER_SECOND


def stolen_share(before: list[int] | None, after: list[int] | None) -> float | None:
    """The share of the machine's processor time between two `cpu_ticks` that the host took; None where
    the machine does not say."""
    spent = _spent(before, after)
    return None if spent is None else spent[_STEAL] / max(sum(spent), 1)


def busy_share(before: list[int], after: list[int]) -> float:
    """The share of the machine's processor time between two `cpu_ticks` that was spent running
    something (not idle, not waiting for the disk, not stolen by the host)."""
    spent = _spent(before, after)
    if spent is None:
        return 0.0
    idle = spent[_IDLE] + spent[_IOWAIT] + spent[_STEAL]
    return 1 - idle / max(sum(spent), 1)


# `until_quiet`: the machine counts as quiet when no more than this share of its processors is busy over
# one window, here where the servers' idle timers (a sync worker's poll, a pool's ping) use well under 1%.
QUIET_SHARE = 0.03
QUIET_WINDOW_SECONDS = 0.5


async def until_quiet(within_seconds: float = 60.0) -> bool:
    """Wait until the machine is quiet (`QUIET_SHARE` busy or less over `QUIET_WINDOW_SECONDS`): what
    a server does on its own after a burst of work (a sync's aftermath) is over. False if it was not
    quiet within `within_seconds`, or the machine does not say (not Linux)."""
    deadline = time.monotonic() + within_seconds
    before = cpu_ticks()
    while before is not None and time.monotonic() < deadline:
        await asyncio.sleep(QUIET_WINDOW_SECONDS)
        after = cpu_ticks()
        if after is None:
            return False
        if busy_share(before, after) <= QUIET_SHARE:
            return True
        before = after
    return False


def merge(results: Sequence[LoadResult]) -> LoadResult:
    """Pool several runs at the same rate into one (more samples make p99 steadier)."""
    if not results:
        raise ValueError("nothing to merge")
    merged = LoadResult(rate=results[0].rate, planned=sum(r.planned for r in results))
    for run in results:
        merged.latencies_ms.extend(run.latencies_ms)
        merged.errors.update(run.errors)
        merged.launch_lag_ms.extend(run.launch_lag_ms)
        merged.wall_s += run.wall_s
        merged.stolen_ms += run.stolen_ms
    return merged


async def interleaved(
    targets: Mapping[str, tuple[LoopbackClient, RequestFactory]],
    *,
    rate: float,
    duration: float,
    rounds: int = 3,
    warmup: float = 1.0,
    pause: float = 0.5,
) -> dict[str, LoadResult]:
    """Run each target for `duration` seconds per round, alternating A, B, A, B...; pool each target's rounds.

    Alternating spreads slow drift (other processes, a WAL checkpoint, CPU frequency) over every target
    instead of loading it onto whichever ran last, so a ratio of two pooled results is fair.
    """
    if not 1 <= rounds <= 20:
        raise ValueError("rounds must be between 1 and 20")
    runs: dict[str, list[LoadResult]] = {label: [] for label in targets}
    for _ in range(rounds):
        for label, (client, factory) in targets.items():
            runs[label].append(await open_loop(client, factory, rate=rate, duration=duration, warmup=warmup))
            await asyncio.sleep(pause)
    return {label: merge(results) for label, results in runs.items()}
