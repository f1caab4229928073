"""Services: every QBO write goes through SmartSync with SyncToken and requestid, and is audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from domains.ap.models import Bill
from domains.core.models import AuditLog
from domains.qbo import repository as repo
from domains.qbo.errors import QboValidationError
from domains.qbo.smart_sync import ConflictError, new_request_id
from tests.support.qbo import bank_account, bill, vendor

pytestmark = pytest.mark.anyio

COMPANY = {
    "Account": [bank_account("35")],
    "Vendor": [vendor("1", "Paper Co")],
    "Bill": [bill("10", "1", "200.00", "2026-10-01")],
}


async def synced(qbo):
    business_id, realm_id = await qbo.connected_business(entities=COMPANY)
    sync = qbo.smart_sync()
    await sync.sync_now(business_id)
    return business_id, realm_id, sync


async def _local_bill(qbo, business_id) -> Bill:
    async with qbo.db.read() as session:
        return await session.scalar(select(Bill).where(Bill.business_id == business_id, Bill.qbo_id == "10"))


async def test_a_sparse_update_writes_qbo_stores_the_new_sync_token_and_audits(qbo):
    business_id, realm_id, sync = await synced(qbo)
    local = await _local_bill(qbo, business_id)
    result = await sync.update_entity(
        business_id, "Bill", "10", {"DueDate": "2026-10-31"}, sync_token=local.sync_token, user_id=None
    )
    assert int(result.sync_token) == int(local.sync_token) + 1
    in_qbo = (await qbo.qbo(realm_id, "SELECT * FROM Bill WHERE Id = '10'"))["Bill"][0]
    assert in_qbo["DueDate"] == "2026-10-31"
    assert in_qbo["TotalAmt"] == Decimal("200.00"), "a sparse update leaves other fields alone"
    stored = await _local_bill(qbo, business_id)
    assert stored.due_date.isoformat() == "2026-10-31"
    assert stored.sync_token == result.sync_token
    async with qbo.db.read() as session:
        audit = (await session.scalars(select(AuditLog).where(AuditLog.business_id == business_id))).all()
    entry = next(a for a in audit if a.action == "qbo.bill.update")
    assert entry.before == {"Id": "10", "SyncToken": local.sync_token, "DueDate": None}
    assert entry.after["DueDate"] == "2026-10-31"
    assert entry.request_id == result.request_id


async def test_a_stale_sync_token_becomes_a_conflict_with_qbos_current_values(qbo):
    business_id, realm_id, sync = await synced(qbo)
    local = await _local_bill(qbo, business_id)
    # Someone changes the bill in QuickBooks after our last sync.
    await qbo.qbo_write(
        realm_id, "Bill", {"Id": "10", "SyncToken": local.sync_token, "sparse": True, "DueDate": "2026-12-01"}
    )
    with pytest.raises(ConflictError) as caught:
        await sync.update_entity(
            business_id, "Bill", "10", {"DueDate": "2026-10-31"}, sync_token=local.sync_token, user_id=None
        )
    assert caught.value.current["DueDate"] == "2026-12-01"
    in_qbo = (await qbo.qbo(realm_id, "SELECT * FROM Bill WHERE Id = '10'"))["Bill"][0]
    assert in_qbo["DueDate"] == "2026-12-01", "their change was not overwritten"
    assert (await _local_bill(qbo, business_id)).due_date.isoformat() == "2026-12-01", (
        "we now show QBO's value"
    )


async def bill_payment(sync, business_id, request_id):
    return await sync.create_entity(
        business_id,
        "BillPayment",
        {
            "VendorRef": {"value": "1"},
            "PayType": "Check",
            "TotalAmt": Decimal("200.00"),
            "CheckPayment": {"BankAccountRef": {"value": "35"}},
            "Line": [{"Amount": Decimal("200.00"), "LinkedTxn": [{"TxnId": "10", "TxnType": "Bill"}]}],
        },
        request_id=request_id,
        user_id=None,
    )


async def test_running_the_same_create_again_replays_instead_of_creating_another(qbo):
    business_id, realm_id, sync = await synced(qbo)
    request_id = new_request_id()
    first = await bill_payment(sync, business_id, request_id)
    again = await bill_payment(sync, business_id, request_id)
    assert again.replayed
    assert again.qbo_id == first.qbo_id
    assert len((await qbo.qbo(realm_id, "SELECT * FROM BillPayment"))["BillPayment"]) == 1
    async with qbo.db.read() as session:
        write = await repo.get_write(session, business_id, request_id)
    assert write.status == "succeeded"


async def test_a_write_whose_row_was_left_pending_replays_through_qbos_requestid(qbo):
    business_id, realm_id, sync = await synced(qbo)
    request_id = new_request_id()
    await bill_payment(sync, business_id, request_id)
    # As if the process died after QBO answered but before we recorded success.
    async with qbo.db.write() as session:
        await repo.complete_write(session, business_id, request_id, status="pending")
    again = await bill_payment(sync, business_id, request_id)
    assert not again.replayed, "our own record said pending, so QBO was asked again"
    assert len((await qbo.qbo(realm_id, "SELECT * FROM BillPayment"))["BillPayment"]) == 1


async def test_a_refused_write_is_recorded_as_failed_with_qbos_reason(qbo):
    business_id, _realm, sync = await synced(qbo)
    request_id = new_request_id()
    with pytest.raises(QboValidationError):
        await sync.create_entity(
            business_id, "BillPayment", {"PayType": "Check"}, request_id=request_id, user_id=None
        )
    async with qbo.db.read() as session:
        write = await repo.get_write(session, business_id, request_id)
    assert write.status == "failed"
    assert write.error


async def test_sending_an_invoice_records_the_email_in_qbo(qbo):
    business_id, realm_id = await qbo.connected_business(
        entities={
            "Customer": [{"Id": "5", "DisplayName": "Acme", "PrimaryEmailAddr": {"Address": "ap@acme.test"}}],
            "Invoice": [
                {
                    "Id": "70",
                    "CustomerRef": {"value": "5"},
                    "TxnDate": "2026-09-01",
                    "DueDate": "2026-10-01",
                    "TotalAmt": Decimal("500.00"),
                    "Balance": Decimal("500.00"),
                    "BillEmail": {"Address": "ap@acme.test"},
                    "Line": [
                        {
                            "Amount": Decimal("500.00"),
                            "DetailType": "SalesItemLineDetail",
                            "SalesItemLineDetail": {},
                        }
                    ],
                }
            ],
        }
    )
    sync = qbo.smart_sync()
    await sync.sync_now(business_id)
    result = await sync.send_invoice(business_id, "70", user_id=None)
    assert result.obj["EmailStatus"] == "EmailSent"
    emails = await qbo.sandbox.sent_emails(realm_id)
    assert [(e["id"], e["address"]) for e in emails] == [("70", "ap@acme.test")]
