"""Test support: Runway's SmartSyncService wired to an in-process QBO sandbox, on a clock tests control."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from domains.core import repository as core
from domains.core.db import Database
from domains.qbo.client import encode_body
from domains.qbo.config import QboConfig
from domains.qbo.crypto import TokenCipher
from domains.qbo.oauth import TokenSet
from domains.qbo.sandbox import QboSandbox
from domains.qbo.smart_sync import SmartSyncService

SANDBOX_URL = "http://testserver.local"
WEBHOOK_VERIFIER = "test-webhook-verifier-token"
TOKEN_SECRET = "test-token-secret-0123456789-0123456789"


class FakeClock:
    """Wall and monotonic time that move only when code sleeps (or a test advances them)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.current = start or dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.ticks = 1000.0
        self.slept = 0.0

    def now(self) -> dt.datetime:
        return self.current

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)
        self.ticks += seconds

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept += seconds
            self.advance(seconds)


async def store_sandbox_tokens(
    sync: SmartSyncService, sandbox: QboSandbox, business_id: int, realm_id: str
) -> None:
    """Connect `business_id` to sandbox company `realm_id` through `sync` (an hour of access), as the
    OAuth callback would, for tests whose sandbox is served over a real socket."""
    issued = await sandbox.issue_tokens(realm_id)
    now = dt.datetime.now(dt.UTC)
    await sync.tokens.store(
        business_id,
        realm_id,
        TokenSet(issued.access_token, issued.refresh_token, now + dt.timedelta(hours=1), None),
    )


@dataclass
class Traffic:
    """Every request the sync made and the status it got, for asserting on paging and retries."""

    requests: list[httpx.Request] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    async def on_request(self, request: httpx.Request) -> None:
        self.requests.append(request)

    async def on_response(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1

    def queries(self, entity: str) -> list[str]:
        found = []
        for request in self.requests:
            statement = request.url.params.get("query", "")
            if request.url.path.endswith("/query") and f"FROM {entity} " in statement + " ":
                found.append(statement)
        return found


@dataclass
class QboHarness:
    db: Database
    sandbox: QboSandbox
    http: AsyncTestClient[Any]
    clock: FakeClock
    traffic: Traffic
    config: QboConfig
    cipher: TokenCipher

    def smart_sync(self, worker_id: str | None = None, *, map_in_process: bool = False) -> SmartSyncService:
        return SmartSyncService(
            self.db,
            self.config,
            self.cipher,
            http=self.http,
            clock=self.clock,
            worker_id=worker_id,
            map_in_process=map_in_process,
        )

    async def connected_business(
        self,
        name: str = "Harbor Plumbing",
        entities: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> tuple[int, str]:
        """A Runway business connected to a new sandbox company holding `entities`."""
        realm_id = await self.sandbox.create_company(name, entities)
        async with self.db.write() as session:
            business = await core.create_business(session, name=name)
            business_id = business.id
        await self.connect(business_id, realm_id)
        return business_id, realm_id

    async def connect(self, business_id: int, realm_id: str) -> None:
        issued = await self.sandbox.issue_tokens(realm_id)
        now = self.clock.now()
        tokens = TokenSet(
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            access_expires_at=now + dt.timedelta(seconds=issued.expires_in),
            refresh_expires_at=now + dt.timedelta(seconds=issued.x_refresh_token_expires_in),
        )
        await self.smart_sync().tokens.store(business_id, realm_id, tokens)

    async def qbo(self, realm_id: str, statement: str) -> dict[str, Any]:
        """Query the sandbox directly, as another QBO user would see the company."""
        issued = await self.sandbox.issue_tokens(realm_id)
        response = await self.http.get(
            f"/v3/company/{realm_id}/query",
            params={"query": statement},
            headers={"Authorization": f"Bearer {issued.access_token}", "Accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json(parse_float=Decimal)["QueryResponse"]
        return result

    async def qbo_write(
        self, realm_id: str, entity: str, payload: dict[str, Any], **params: str
    ) -> dict[str, Any]:
        """Change the company in the sandbox directly (someone else working in QBO)."""
        issued = await self.sandbox.issue_tokens(realm_id)
        response = await self.http.post(
            f"/v3/company/{realm_id}/{entity.lower()}",
            params=params,
            content=encode_body(payload),
            headers={
                "Authorization": f"Bearer {issued.access_token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json(parse_float=Decimal)[entity]
        return result


def vendor(qbo_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"Id": qbo_id, "DisplayName": name, "Active": True, **extra}


def bill(
    qbo_id: str, vendor_id: str, amount: str, txn_date: str, due_date: str | None = None, **extra: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Id": qbo_id,
        "VendorRef": {"value": vendor_id},
        "TxnDate": txn_date,
        "TotalAmt": Decimal(amount),
        "Balance": Decimal(amount),
        "Line": [
            {
                "Id": "1",
                "Amount": Decimal(amount),
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7", "name": "Supplies"}},
            }
        ],
        **extra,
    }
    if due_date:
        doc["DueDate"] = due_date
    return doc


def bank_account(qbo_id: str = "35", balance: str = "10000.00") -> dict[str, Any]:
    return {
        "Id": qbo_id,
        "Name": "Checking",
        "AccountType": "Bank",
        "AccountSubType": "Checking",
        "Classification": "Asset",
        "CurrentBalance": Decimal(balance),
        "Active": True,
    }
