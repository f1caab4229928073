"""Browser fixtures: Debian's Chromium driven by Playwright against a live `runway serve` process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from domains.core.db import Database
from tests.conftest import TEST_SECRET, require
from tests.support import in_fresh_thread
from tests.support.personas import World, build_world
from tests.support.postgres import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
REPO = Path(__file__).resolve().parents[2]

# A loaded 2-core CI machine can take seconds to answer; waiting longer costs nothing when it is fast.
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:  # type: ignore[type-arg]
    require(os.path.exists(CHROMIUM), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@dataclass
class LiveServer:
    url: str
    world: World
    data_dir: Path
    database_url: str
    process: subprocess.Popen[bytes] = field(repr=False)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"runway serve exited with {process.returncode}")
        # Not listening yet is the expected answer until the server is up.
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("runway serve did not become healthy in time")


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    """A Runway process on its own data directory; its QBO sandbox on a free port."""
    return {
        **os.environ,
        "RUNWAY_DATA_DIR": str(data_dir),
        "RUNWAY_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'runway.db'}",
        "RUNWAY_SECRET_KEY": TEST_SECRET,
        "RUNWAY_LOG_LEVEL": "WARNING",
        "RUNWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "RUNWAY_SANDBOX_PORT": "0",
        # The demo data is built once per session; without this, a server started more than 15 minutes
        # later would begin re-syncing every company in the middle of a test. Queued runs still execute.
        "RUNWAY_SYNC_INTERVAL_MINUTES": "1000000",
    }


@contextlib.contextmanager
def running_server(data_dir: Path, log_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=REPO,
        env=server_env(data_dir, port),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """`runway serve` on a fresh database holding the test personas (no QBO data)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(sqlite_template, data_dir / "runway.db")
    database_url = f"sqlite+aiosqlite:///{data_dir / 'runway.db'}"

    async def seed() -> World:
        database = Database(database_url)
        try:
            return await build_world(database)
        finally:
            await database.dispose()

    world = in_fresh_thread(asyncio.run, seed())
    with running_server(data_dir, tmp_path / "server.log") as (url, process):
        yield LiveServer(url, world, data_dir, database_url, process)


@pytest.fixture(scope="session")
def demo_data_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory after `runway migrate` and `runway demo`: the demo logins and five synced
    demo companies in the built-in sandbox. Built once per session; tests get copies."""
    data_dir = tmp_path_factory.mktemp("demo-template")
    env = server_env(data_dir, free_port())
    for command in (["migrate"], ["demo"]):
        subprocess.run(
            [sys.executable, "-m", "app.cli", *command],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return data_dir


@dataclass
class DemoServer:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)


@pytest.fixture
def demo_server(demo_data_template: Path, tmp_path: Path) -> Iterator[DemoServer]:
    """`runway serve` on a copy of the demo data (log in as DEMO logins; see account_admin)."""
    data_dir = tmp_path / "demo-data"
    shutil.copytree(demo_data_template, data_dir)
    with running_server(data_dir, tmp_path / "server.log") as (url, process):
        yield DemoServer(url, data_dir, process)


@pytest.fixture
def console_errors(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Every console error and uncaught page error (CSP violations are reported as console errors)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    return errors
