"""Shared fixtures: throwaway SQLite files and PostgreSQL databases migrated by Alembic, and the app."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient

from app.main import create_app
from app.settings import Settings
from domains.core import passwords
from domains.core.db import Database
from domains.core.migrations import upgrade
from domains.qbo.config import QboConfig
from domains.qbo.crypto import TokenCipher
from domains.qbo.sandbox import SandboxConfig, create_sandbox_app, sandbox_of
from tests.support import in_fresh_thread
from tests.support.postgres import PostgresCluster, start_cluster
from tests.support.qbo import SANDBOX_URL, TOKEN_SECRET, WEBHOOK_VERIFIER, FakeClock, QboHarness, Traffic

CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def require(available: bool, what: str) -> None:
    """Under CI=true a missing dependency fails the test; locally it is a loud skip."""
    if available:
        return
    if CI:
        pytest.fail(f"{what} is required when CI=true", pytrace=False)
    pytest.skip(f"NOT RUN: {what} is not available on this machine (CI runs it)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running until the session ends,
    and no anyio test can start its own loop after that."""
    items.sort(key=lambda item: "tests/browser/" in str(item.path))


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for test users: tests create many, and check logins, not hash strength."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets its own copy."""
    path = tmp_path_factory.mktemp("schema") / "template.db"
    in_fresh_thread(upgrade, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "runway.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster | None]:
    try:
        cluster = start_cluster()
    except FileNotFoundError:
        yield None
        return
    try:
        cluster.psql("CREATE DATABASE runway_template")
        in_fresh_thread(upgrade, cluster.url("runway_template"))
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster | None) -> Iterator[str]:
    require(pg_cluster is not None, "PostgreSQL 15 server binaries (initdb)")
    assert pg_cluster is not None
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg_cluster.psql(f"CREATE DATABASE {name} TEMPLATE runway_template")
    yield pg_cluster.url(name)
    pg_cluster.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run the test once on a SQLite file and once on PostgreSQL."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.fixture
async def sqlite_database(sqlite_url: str) -> AsyncIterator[Database]:
    db = Database(sqlite_url)
    yield db
    await db.dispose()


def make_settings(data_dir: Path, database_url: str) -> Settings:
    return Settings.from_env(
        {
            "RUNWAY_DATA_DIR": str(data_dir),
            "RUNWAY_DATABASE_URL": database_url,
            "RUNWAY_SECRET_KEY": TEST_SECRET,
            "RUNWAY_LOG_LEVEL": "WARNING",
        }
    )


@pytest.fixture
async def client(sqlite_database: Database, tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """An HTTP client for the app on a fresh SQLite file (HTTP behaviour does not depend on the backend)."""
    app = create_app(make_settings(tmp_path, sqlite_database.url), database=sqlite_database, start_qbo=False)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def qbo(database: Database, fake_clock: FakeClock) -> AsyncIterator[QboHarness]:
    """SmartSync against an in-memory QBO sandbox, on SQLite and on PostgreSQL."""
    async for harness in _qbo_harness(database, fake_clock):
        yield harness


@pytest.fixture
async def qbo_sqlite(sqlite_database: Database, fake_clock: FakeClock) -> AsyncIterator[QboHarness]:
    """The same harness on SQLite only, for the fault-injection tests."""
    async for harness in _qbo_harness(sqlite_database, fake_clock):
        yield harness


async def _qbo_harness(database: Database, clock: FakeClock) -> AsyncIterator[QboHarness]:
    sandbox_app = create_sandbox_app(
        SandboxConfig(database_url="sqlite+aiosqlite:///:memory:", clock=clock.now, monotonic=clock.monotonic)
    )
    traffic = Traffic()
    async with AsyncTestClient(app=sandbox_app, base_url=SANDBOX_URL) as http:
        http.event_hooks["request"].append(traffic.on_request)
        http.event_hooks["response"].append(traffic.on_response)
        config = QboConfig.local_sandbox(SANDBOX_URL, f"{SANDBOX_URL}/callback", WEBHOOK_VERIFIER)
        yield QboHarness(
            database, sandbox_of(sandbox_app), http, clock, traffic, config, TokenCipher(TOKEN_SECRET)
        )
