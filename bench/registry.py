"""Benchmark: the registry — how a benchmark declares itself, what it reports, and targets it checks.

A benchmark is a function (plain or async) taking a `BenchContext` and a `Report`:

    @benchmark("sync_pace", issue=3, summary="entities/minute vs the rate-limit ceiling")
    async def sync_pace(ctx: BenchContext, report: Report) -> None:
        report.metric("pace ratio", 0.91, target=at_least(0.8))

Modules named `bench/bench_*.py` are imported by the runner, so adding a file is enough to add a benchmark.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Target:
    """A bound a metric should respect: `op` is ">=" or "<="."""

    op: str
    bound: float

    def met(self, value: float) -> bool:
        return value >= self.bound if self.op == ">=" else value <= self.bound

    def __str__(self) -> str:
        return f"{self.op} {self.bound:g}"


def at_least(bound: float) -> Target:
    return Target(">=", bound)


def at_most(bound: float) -> Target:
    return Target("<=", bound)


@dataclass
class Metric:
    name: str
    value: float
    unit: str = ""
    target: str | None = None
    met: bool | None = None


@dataclass
class BenchResult:
    """What one benchmark run produced; serialised to JSON by the runner."""

    name: str
    issue: int | None
    summary: str
    quick: bool
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BenchResult:
        metrics = [Metric(**m) for m in data.get("metrics", [])]
        return cls(**{**data, "metrics": metrics})


class Report:
    """Collects a benchmark's figures. Every ratio should compare against a baseline from the same run."""

    def __init__(self, result: BenchResult) -> None:
        self.result = result

    def metric(self, name: str, value: float, unit: str = "", *, target: Target | None = None) -> Metric:
        metric = Metric(
            name=name,
            value=float(value),
            unit=unit,
            target=str(target) if target else None,
            met=target.met(value) if target else None,
        )
        self.result.metrics.append(metric)
        log(f"  {name}: {_fmt(metric.value)} {unit}" + (f"  (target {target})" if target else ""))
        return metric

    def note(self, text: str) -> None:
        self.result.notes.append(text)
        log(f"  note: {text}")


@dataclass(frozen=True)
class BenchContext:
    """What a benchmark may use: `quick` (the smaller, faster variant), a private scratch directory, and
    a cache directory shared by every benchmark of one run (seeded companies, a migrated template)."""

    quick: bool
    workdir: Path
    cache: Path

    def scratch(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


BenchFunction = Callable[[BenchContext, Report], Awaitable[None] | None]


@dataclass(frozen=True)
class Benchmark:
    name: str
    issue: int | None
    summary: str
    order: int
    function: BenchFunction
    # False: an investigation that runs only when named (`python -m bench NAME`), not in `make bench`.
    default: bool = True


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(
    name: str, *, summary: str, issue: int | None = None, order: int = 100, default: bool = True
) -> Callable[[BenchFunction], BenchFunction]:
    """Register a benchmark under `name` (what `python -m bench <name>` runs).

    `default=False` keeps it out of the full run: for investigations that back a proposal.
    """

    def register(function: BenchFunction) -> BenchFunction:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} is registered twice")
        BENCHMARKS[name] = Benchmark(name, issue, summary, order, function, default)
        return function

    return register


def discover() -> list[Benchmark]:
    """Import every `bench/bench_*.py` module and return the benchmarks in run order."""
    package_dir = Path(__file__).resolve().parent
    for module in sorted(pkgutil.iter_modules([str(package_dir)]), key=lambda m: m.name):
        if module.name.startswith("bench_"):
            importlib.import_module(f"bench.{module.name}")
    return sorted(BENCHMARKS.values(), key=lambda b: (b.order, b.name))


_START = time.monotonic()


def log(message: str) -> None:
    """Progress to stderr, so `--json` output on stdout stays clean."""
    print(f"[{time.monotonic() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as took: ...` then `took[0]` is the elapsed seconds (perf_counter)."""
    took = [0.0]
    start = time.perf_counter()
    try:
        yield took
    finally:
        took[0] = time.perf_counter() - start


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def format_value(value: float) -> str:
    return _fmt(value)
