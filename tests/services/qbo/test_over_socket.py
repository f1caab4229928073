"""Services: SmartSync and the sandbox over a real TCP socket, where client timeouts really happen."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from app.embedded_server import EmbeddedServer
from domains.ap.models import Bill
from domains.core import repository as core
from domains.qbo.config import QboConfig
from domains.qbo.crypto import TokenCipher
from domains.qbo.sandbox import QboSandbox, SandboxConfig, create_sandbox_app
from domains.qbo.smart_sync import SmartSyncService, new_request_id
from tests.support.qbo import TOKEN_SECRET, WEBHOOK_VERIFIER, bank_account, bill, store_sandbox_tokens, vendor

pytestmark = pytest.mark.anyio

COMPANY = {
    "Account": [bank_account("35")],
    "Vendor": [vendor("1", "Paper Co")],
    "Bill": [bill(str(i), "1", "200.00", "2026-10-01", "2026-10-31") for i in range(10, 1510)],
}


@pytest.fixture
async def socket_sync(sqlite_database):

    sandbox = QboSandbox(SandboxConfig(database_url="sqlite+aiosqlite:///:memory:"))
    async with EmbeddedServer(create_sandbox_app(sandbox=sandbox)) as server:
        realm_id = await sandbox.create_company("Socket Co", COMPANY)
        async with sqlite_database.write() as session:
            business_id = (await core.create_business(session, name="Socket Co")).id
        http = httpx.AsyncClient(timeout=httpx.Timeout(0.5, connect=2.0))
        config = QboConfig.local_sandbox(server.url, f"{server.url}/callback", WEBHOOK_VERIFIER)
        sync = SmartSyncService(sqlite_database, config, TokenCipher(TOKEN_SECRET), http=http)
        await store_sandbox_tokens(sync, sandbox, business_id, realm_id)
        yield sync, sandbox, business_id, realm_id
        await http.aclose()


async def test_a_full_sync_over_http_pages_through_1500_bills(socket_sync, sqlite_database):
    sync, _sandbox, business_id, _realm = socket_sync
    outcome = await sync.sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error
    async with sqlite_database.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(Bill).where(Bill.business_id == business_id)
        )
    assert count == 1500


async def test_a_read_that_times_out_is_retried(socket_sync):
    sync, sandbox, business_id, realm_id = socket_sync
    sandbox.set_faults(realm_id, timeouts=1, timeout_ms=1500)
    outcome = await sync.sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error


async def test_a_timeout_after_qbo_committed_creates_exactly_one_bill_payment(socket_sync):
    sync, sandbox, business_id, realm_id = socket_sync
    await sync.sync_now(business_id, full=True)
    sandbox.set_faults(realm_id, timeouts=1, timeout_after_commit=True, timeout_ms=1500)
    result = await sync.create_entity(
        business_id,
        "BillPayment",
        {
            "VendorRef": {"value": "1"},
            "PayType": "Check",
            "TotalAmt": Decimal("200.00"),
            "CheckPayment": {"BankAccountRef": {"value": "35"}},
            "Line": [{"Amount": Decimal("200.00"), "LinkedTxn": [{"TxnId": "10", "TxnType": "Bill"}]}],
        },
        request_id=new_request_id(),
        user_id=None,
    )
    issued = await sandbox.issue_tokens(realm_id)
    async with httpx.AsyncClient(timeout=5) as client:
        base = sync.config.base_url
        response = await client.get(
            f"{base}/v3/company/{realm_id}/query",
            params={"query": "SELECT * FROM BillPayment"},
            headers={"Authorization": f"Bearer {issued.access_token}", "Accept": "application/json"},
        )
    payments = response.json()["QueryResponse"]["BillPayment"]
    assert [p["Id"] for p in payments] == [result.qbo_id]
