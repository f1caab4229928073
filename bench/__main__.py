"""Benchmark: the runner — `python -m bench [NAME ...] [--quick] [--json] [--list]`.

Each benchmark runs in a fresh child process (so one benchmark's heap, caches and leftover threads cannot
slow the next), sharing a cache directory for the run (seeded companies, a migrated template database).
The table goes to stdout, or to stderr with `--json`, which prints the results as JSON on stdout.
Nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.load import cpu_ticks, stolen_share
from bench.registry import BenchContext, BenchResult, Report, discover, format_value, log

CHILD_TIMEOUT_SECONDS = 1200


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Runway benchmarks: every figure is a ratio to a baseline measured in the same run.",
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all); see --list")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--quick", action="store_true", help="smaller, faster variants")
    parser.add_argument("--json", action="store_true", help="print results as JSON on stdout")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (printed at the end)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    return parser


def run_child(name: str, *, quick: bool, root: Path, result_file: Path) -> int:
    """Inside the child process: run one benchmark and write its result as JSON."""
    from app.observability import configure_logging

    # As `runway serve` runs with RUNWAY_LOG_LEVEL=WARNING: no per-request debug lines in the timings.
    configure_logging("WARNING")
    benchmarks = {b.name: b for b in discover()}
    bench = benchmarks[name]
    result = BenchResult(name=name, issue=bench.issue, summary=bench.summary, quick=quick)
    workdir = root / name
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = BenchContext(quick=quick, workdir=workdir, cache=root / "cache")
    report = Report(result)
    load_before = os.getloadavg()[0]
    cpu_before = cpu_ticks()
    start = time.perf_counter()
    try:
        outcome = bench.function(ctx, report)
        if inspect.isawaitable(outcome):
            asyncio.run(_await(outcome))
    except Exception as exc:  # reported in the table; the run goes on with the next benchmark
        import traceback

        traceback.print_exc()
        result.error = f"{type(exc).__name__}: {exc}"
    result.elapsed_s = time.perf_counter() - start
    result.notes.append(f"load average (1 min) before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    stolen = stolen_share(cpu_before, cpu_ticks())
    if stolen is not None:
        # A virtual machine's processors taken by its host: other machines' work, not this one's.
        result.notes.append(f"processor time stolen by the host during the run: {stolen:.1%}")
    result_file.write_text(json.dumps(result.to_json()))
    return 0


async def _await(awaitable: Any) -> None:
    await awaitable


def _spawn(name: str, *, quick: bool, root: Path) -> BenchResult:
    result_file = root / f"{name}.result.json"
    args = [
        sys.executable,
        "-m",
        "bench",
        "--child",
        name,
        "--root",
        str(root),
        "--result-file",
        str(result_file),
    ]
    if quick:
        args.append("--quick")
    log(f"=== {name}{' (quick)' if quick else ''}")
    started = time.perf_counter()
    try:
        completed = subprocess.run(args, timeout=CHILD_TIMEOUT_SECONDS, check=False, stdout=sys.stderr)
        code: int | None = completed.returncode
    except subprocess.TimeoutExpired:
        code = None
    if result_file.exists():
        return BenchResult.from_json(json.loads(result_file.read_text()))
    reason = "timed out" if code is None else f"exited with {code}"
    return BenchResult(
        name=name,
        issue=None,
        summary="",
        quick=quick,
        elapsed_s=time.perf_counter() - started,
        error=f"benchmark process {reason} before reporting",
    )


def render_table(results: Sequence[BenchResult]) -> str:
    rows: list[tuple[str, str, str, str, str]] = []
    for result in results:
        if result.error:
            rows.append((result.name, "ERROR", result.error[:90], "", ""))
        for metric in result.metrics:
            met = "" if metric.met is None else ("met" if metric.met else "MISSED")
            value = f"{format_value(metric.value)} {metric.unit}".strip()
            rows.append((result.name, metric.name, value, metric.target or "", met))
    headers = ("benchmark", "metric", "value", "target", "")
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    for result in results:
        for note in result.notes:
            lines.append(f"[{result.name}] {note}")
        lines.append(f"[{result.name}] took {result.elapsed_s:.1f} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        return run_child(
            args.child, quick=args.quick, root=Path(args.root), result_file=Path(args.result_file)
        )
    benchmarks = discover()
    if args.list:
        for bench in benchmarks:
            issue = f"issue {bench.issue}" if bench.issue else ""
            only = "" if bench.default else " [only when named]"
            print(f"{bench.name:<24} {issue:<9} {bench.summary}{only}")
        return 0
    known = {b.name for b in benchmarks}
    unknown = [name for name in args.names if name not in known]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}", file=sys.stderr
        )
        return 2
    selected = [b for b in benchmarks if b.name in args.names or (not args.names and b.default)]
    root = Path(tempfile.mkdtemp(prefix="runway-bench-"))
    started = time.perf_counter()
    try:
        results = [_spawn(b.name, quick=args.quick, root=root) for b in selected]
    finally:
        if args.keep:
            log(f"scratch directory kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    table = render_table(results)
    machine = f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs"
    footer = f"{len(results)} benchmark(s) in {time.perf_counter() - started:.0f} s on {machine}"
    if args.json:
        print(table + "\n" + footer, file=sys.stderr)
        document = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": machine,
            "quick": args.quick,
            "results": [r.to_json() for r in results],
        }
        print(json.dumps(document, indent=2))
    else:
        print(table + "\n" + footer)
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
