"""Fixtures for the QBO sandbox tests: an in-memory sandbox served in-process, on a clock the test moves."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from domains.qbo.sandbox import SandboxConfig
from tests.sandbox.support import MEMORY_DB, FakeClock, Harness, in_process


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2025, 6, 30, 17, 0, 0, tzinfo=dt.UTC))


@pytest.fixture
def config(clock: FakeClock) -> SandboxConfig:
    return SandboxConfig(database_url=MEMORY_DB, clock=clock, monotonic=clock.monotonic)


@pytest.fixture
async def harness(config: SandboxConfig, clock: FakeClock) -> AsyncIterator[Harness]:
    async with in_process(config, clock) as running:
        yield running
