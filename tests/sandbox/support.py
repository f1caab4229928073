"""Helpers for the QBO sandbox tests: a fake clock, an in-process sandbox client, JSON with exact numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import httpx

from domains.qbo.sandbox import QboSandbox, SandboxConfig, create_sandbox_app, sandbox_of
from domains.qbo.sandbox.codec import dumps, loads

MEMORY_DB = "sqlite+aiosqlite:///:memory:"
BASE_URL = "http://qbo.sandbox.test"


class FakeClock:
    """Wall clock and monotonic clock that only move when a test says so."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start
        self.ticks = 1000.0

    def __call__(self) -> dt.datetime:
        return self.now

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)
        self.ticks += seconds


@dataclass
class Company:
    realm_id: str
    headers: dict[str, str]
    access_token: str
    refresh_token: str

    def url(self, path: str) -> str:
        return f"/v3/company/{self.realm_id}/{path.lstrip('/')}"


def body(response: httpx.Response) -> Any:
    """Response JSON with exact Decimal numbers (never floats)."""
    return loads(response.content)


@dataclass
class Harness:
    client: httpx.AsyncClient
    sandbox: QboSandbox
    clock: FakeClock

    async def company(
        self,
        name: str = "Acme Landscaping",
        entities: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> Company:
        realm_id = await self.sandbox.create_company(name, entities)
        tokens = await self.sandbox.issue_tokens(realm_id)
        headers = {"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"}
        return Company(realm_id, headers, tokens.access_token, tokens.refresh_token)

    async def query(self, company: Company, text: str) -> Any:
        response = await self.client.get(
            company.url("query"), params={"query": text}, headers=company.headers
        )
        assert response.status_code == 200, response.text
        return body(response)

    async def post(self, company: Company, path: str, payload: Any, **params: str) -> httpx.Response:
        return await self.client.post(
            company.url(path),
            content=dumps(payload),
            params=params,
            headers={**company.headers, "Content-Type": "application/json"},
        )


@asynccontextmanager
async def in_process(config: SandboxConfig, clock: FakeClock) -> AsyncIterator[Harness]:
    """The app with its startup/shutdown hooks run, called through httpx in this event loop."""
    app = create_sandbox_app(config)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=cast(Any, app)), base_url=BASE_URL) as client,
    ):
        yield Harness(client, sandbox_of(app), clock)
