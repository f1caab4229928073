"""Benchmark: server processes on loopback — the real `runway serve`, the QBO sandbox, data dirs and login.

Every server runs in its own process (so on 2 cores the server and the load generator do not share one
interpreter) on 127.0.0.1 and a free port, and is stopped when its `with` block ends.

    data_dir = prepare_data_dir(ctx.scratch("app"))                 # migrate + demo logins
    seed_company(data_dir, generate_large_company(20_000, today=today), firm=DEMO_FIRM)
    with runway_server(data_dir) as server:
        async with LoopbackClient(server.url) as client:
            token = await login(client, DEMO_ADVISOR, DEMO_PASSWORD)
            await client.post(path, data=form, headers=csrf_headers(token))
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import msgspec

from bench.registry import log
from domains.core import scheduling

if TYPE_CHECKING:
    from bench.client import LoopbackClient

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
BENCH_SECRET = "bench-secret-key-that-is-long-enough-0123456789"

# The demo logins `runway demo` creates (runway/services/experiences/account_admin.py).
DEMO_FIRM = "Ledgerline Advisors"
DEMO_ADVISOR = "advisor@demo.runway.example"
DEMO_OWNER = "owner@demo.runway.example"
DEMO_PASSWORD = "runway-demo"

_CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def require_loopback(url: str) -> str:
    """Refuse any URL that is not on this machine: benchmarks never send load elsewhere."""
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"benchmarks only talk to loopback addresses, not {host!r}")
    return url


@dataclass
class ServerProcess:
    """A server started by `serve_process`; `url` is its loopback base URL."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def serve_process(
    args: list[str],
    *,
    port: int,
    health_path: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Iterator[ServerProcess]:
    """Run `python <args>` (which must listen on `port`) until the block ends; waits for `health_path`."""
    url = f"http://{LOOPBACK}:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env={**os.environ, **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        server = ServerProcess(url, process, log_path)
        try:
            _wait_healthy(server, health_path, timeout)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def _wait_healthy(server: ServerProcess, health_path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"server exited with {server.process.returncode} before it was healthy:\n{server.log_tail()}"
            )
        # Not listening yet is the expected answer until the server is up.
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + health_path, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server at {server.url} was not healthy after {timeout:.0f} s:\n{server.log_tail()}")


# --- the QBO sandbox -----------------------------------------------------------------------------


@contextmanager
def sandbox_server(
    db_path: Path, *, log_path: Path | None = None, in_background: bool = False
) -> Iterator[ServerProcess]:
    """`python -m domains.qbo.sandbox serve` on a sandbox database file (seed it before starting).

    `in_background`: every thread of the sandbox at the lowest priority there is (`lowest_priority`), where
    a benchmark measures our server's latency while QBO answers a sync. QBO is another machine; at the
    default priority the sandbox took a third of a core beside the server on this machine's two, which
    QBO's own servers would spend, not ours."""
    port = free_port()
    with serve_process(
        ["-m", "domains.qbo.sandbox", "serve", "--db", str(db_path), "--port", str(port)],
        port=port,
        health_path="/_sandbox/health",
        log_path=log_path or db_path.with_suffix(".log"),
    ) as server:
        if in_background:
            lowest_priority(server.process.pid)
        yield server


def lowest_priority(pid: int) -> None:
    """Background work, as a sync process is (`scheduling.in_background`: niceness 19, the idle class, off
    the first processor), for every thread of process `pid`: on Linux a priority is a thread's, and the
    threads a server started before this (its database connection's) would keep theirs. Lowering a
    priority needs no privilege."""
    tasks = Path(f"/proc/{pid}/task")
    for thread in [int(tid.name) for tid in tasks.iterdir()] if tasks.is_dir() else [pid]:
        scheduling.in_background(thread)


# --- the real app --------------------------------------------------------------------------------


def runway_env(data_dir: Path, *, database_url: str | None = None, port: int | None = None) -> dict[str, str]:
    """The environment of a Runway process on `data_dir`: sandbox on a free port, no worker, quiet logs."""
    env = {
        "RUNWAY_DATA_DIR": str(data_dir),
        "RUNWAY_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{data_dir / 'runway.db'}",
        "RUNWAY_SECRET_KEY": BENCH_SECRET,
        "RUNWAY_SANDBOX_PORT": "0",
        "RUNWAY_WORKER": "false",
        "RUNWAY_LOG_LEVEL": "WARNING",
    }
    if port is not None:
        env["RUNWAY_PUBLIC_URL"] = f"http://{LOOPBACK}:{port}"
    return env


def runway_cli(data_dir: Path, *args: str, database_url: str | None = None, timeout: float = 600) -> str:
    """Run `runway <args>` (as `python -m app.cli`) against `data_dir`; returns its output."""
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env={**os.environ, **runway_env(data_dir, database_url=database_url)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"runway {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


def prepare_data_dir(data_dir: Path, *, database_url: str | None = None, demo_logins: bool = True) -> Path:
    """A data directory with a migrated database and (by default) the demo firm and its two logins.

    No demo companies are generated: add the data a benchmark needs with `seed_company`.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    runway_cli(data_dir, "migrate", database_url=database_url)
    if demo_logins:
        runway_cli(data_dir, "demo", "--no-companies", database_url=database_url)
    return data_dir


def write_seed_dir(directory: Path, company: Any) -> Path:
    """Write a generated `DemoCompany` as QBO response files (the format `runway sandbox seed` reads)."""
    directory.mkdir(parents=True, exist_ok=True)
    encoder = msgspec.json.Encoder(decimal_format="number")
    for entity, docs in company.entities.items():
        (directory / f"{entity}.json").write_bytes(encoder.encode({"QueryResponse": {entity: docs}}))
    for entity, doc in (("CompanyInfo", company.company_info), ("Preferences", company.preferences)):
        (directory / f"{entity}.json").write_bytes(encoder.encode({entity: doc}))
    return directory


def seed_company(
    data_dir: Path, company: Any, *, firm: str | None = DEMO_FIRM, database_url: str | None = None
) -> str:
    """Load a generated company into the data dir's sandbox, connect it as a business and sync it.

    Goes through `runway sandbox seed`, so the business ends up exactly as a user's would. Returns the
    command's output (realm id, business id, rows synced).
    """
    seed_dir = write_seed_dir(data_dir / "seed" / _slug(company.name), company)
    args = ["sandbox", "seed", str(seed_dir), "--company", company.name]
    if firm:
        args += ["--firm", firm]
    output = runway_cli(data_dir, *args, database_url=database_url, timeout=1800)
    shutil.rmtree(seed_dir, ignore_errors=True)
    log(f"seeded {company.name}: {output.strip().splitlines()[-1] if output.strip() else ''}")
    return output


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "company"


@contextmanager
def runway_server(
    data_dir: Path, *, database_url: str | None = None, extra_env: Mapping[str, str] | None = None
) -> Iterator[ServerProcess]:
    """`runway serve` on `data_dir` (prepared with `prepare_data_dir`), on a free loopback port."""
    port = free_port()
    env = {**runway_env(data_dir, database_url=database_url, port=port), **(extra_env or {})}
    with serve_process(
        ["-m", "app.cli", "serve", "--host", LOOPBACK, "--port", str(port)],
        port=port,
        health_path="/healthz",
        log_path=data_dir / "server.log",
        env=env,
    ) as server:
        yield server


# --- signing in ----------------------------------------------------------------------------------


def csrf_from(html: str) -> str:
    match = _CSRF_FIELD.search(html)
    if match is None:
        raise RuntimeError("the page has no _csrf_token field")
    return match.group(1)


async def login(client: LoopbackClient, email: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the real form (GET /login, POST with `_csrf_token`); returns the CSRF token.

    The client keeps the session and CSRF cookies; send the token as the `x-csrftoken` header on
    unsafe requests, as htmx does (`csrf_headers(token)`).
    """
    page = await client.get("/login")
    if page.status_code != 200:
        raise RuntimeError(f"GET /login answered {page.status_code}")
    token = csrf_from(page.text)
    response = await client.post("/login", data={"email": email, "password": password, "_csrf_token": token})
    if response.status_code not in (302, 303):
        raise RuntimeError(f"login as {email} failed: HTTP {response.status_code}")
    return token


async def csrf_token(client: LoopbackClient, path: str) -> str:
    """The CSRF token of a page the client can see (a fresh one after the session changed)."""
    page = await client.get(path)
    if page.status_code != 200:
        raise RuntimeError(f"GET {path} answered {page.status_code}")
    return csrf_from(page.text)


def csrf_headers(token: str, *, htmx: bool = True) -> dict[str, str]:
    """Headers of an htmx POST: the CSRF token (and `HX-Request`, so the app renders the fragment)."""
    headers = {"x-csrftoken": token}
    if htmx:
        headers["HX-Request"] = "true"
    return headers
