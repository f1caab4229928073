"""QBO sandbox: creates, reads, full and sparse updates, SyncToken, deletes, requestid, batch and linkage."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.sandbox.support import Company, Harness, body

pytestmark = pytest.mark.anyio


def _fault(response: Any) -> dict[str, Any]:
    payload = body(response)
    return payload["Fault"]["Error"][0]


async def _bill(harness: Harness, company: Company, amount: str, **extra: Any) -> dict[str, Any]:
    payload = {
        "VendorRef": {"value": "56", "name": "Bob's Burger Joint"},
        "TxnDate": "2025-06-01",
        "Line": [
            {
                "Amount": Decimal(amount),
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7"}},
            }
        ],
        **extra,
    }
    response = await harness.post(company, "bill", payload)
    assert response.status_code == 200, response.text
    return body(response)["Bill"]


async def test_create_read_sparse_and_full_update(harness: Harness) -> None:
    company = await harness.company()
    created = await harness.post(
        company,
        "vendor",
        {"DisplayName": "Paper Co", "CompanyName": "Paper Co LLC", "SomeFutureField": {"x": 1}},
    )
    assert created.status_code == 200
    assert created.headers["content-type"].startswith("application/json")
    assert created.headers["intuit-tid"]
    vendor = body(created)["Vendor"]
    assert vendor["SyncToken"] == "0"
    assert vendor["domain"] == "QBO"
    assert vendor["Active"] is True
    assert vendor["SomeFutureField"] == {"x": 1}
    assert vendor["MetaData"]["CreateTime"] == vendor["MetaData"]["LastUpdatedTime"]
    assert vendor["MetaData"]["CreateTime"].endswith("-07:00")

    read = await harness.client.get(company.url(f"vendor/{vendor['Id']}"), headers=company.headers)
    assert set(body(read)) == {"Vendor", "time"}
    assert body(read)["Vendor"] == vendor

    harness.clock.advance(90)
    sparse = await harness.post(
        company, "vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "AcctNum": "A-1"}
    )
    updated = body(sparse)["Vendor"]
    assert updated["SyncToken"] == "1"
    assert updated["AcctNum"] == "A-1"
    assert updated["CompanyName"] == "Paper Co LLC"
    assert updated["MetaData"]["CreateTime"] == vendor["MetaData"]["CreateTime"]
    assert updated["MetaData"]["LastUpdatedTime"] > vendor["MetaData"]["LastUpdatedTime"]

    full = await harness.post(
        company, "vendor", {"Id": vendor["Id"], "SyncToken": "1", "DisplayName": "Paper Co"}
    )
    replaced = body(full)["Vendor"]
    assert replaced["SyncToken"] == "2"
    assert "CompanyName" not in replaced
    assert "AcctNum" not in replaced


async def test_stale_sync_token_is_fault_5010_and_changes_nothing(harness: Harness) -> None:
    company = await harness.company()
    bill = await _bill(harness, company, "100.00")
    moved = await harness.post(
        company, "bill", {"Id": bill["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2025-07-01"}
    )
    assert body(moved)["Bill"]["DueDate"] == "2025-07-01"

    stale = await harness.post(
        company, "bill", {"Id": bill["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2025-09-01"}
    )
    assert stale.status_code == 400
    payload = body(stale)
    assert payload["Fault"]["type"] == "ValidationFault"
    assert payload["Fault"]["Error"][0]["code"] == "5010"
    assert payload["Fault"]["Error"][0]["Message"] == "Stale Object Error"
    assert "time" in payload
    current = await harness.client.get(company.url(f"bill/{bill['Id']}"), headers=company.headers)
    assert body(current)["Bill"]["DueDate"] == "2025-07-01"
    assert body(current)["Bill"]["SyncToken"] == "1"


async def test_missing_object_is_610_and_a_non_numeric_id_is_2030(harness: Harness) -> None:
    company = await harness.company()
    missing = await harness.client.get(company.url("bill/999"), headers=company.headers)
    assert missing.status_code == 400
    assert _fault(missing)["code"] == "610"

    bad_read = await harness.client.get(company.url("bill/abc"), headers=company.headers)
    assert _fault(bad_read)["code"] == "2030"
    bad_update = await harness.post(company, "bill", {"Id": "abc", "SyncToken": "0", "sparse": True})
    assert _fault(bad_update)["code"] == "2030"

    no_vendor = await harness.post(company, "bill", {"Line": [{"Amount": 5, "DetailType": "X"}]})
    assert _fault(no_vendor)["code"] == "2020"
    assert _fault(no_vendor)["element"] == "VendorRef"

    upper = await harness.client.get(company.url("Bill/1"), headers=company.headers)
    assert upper.status_code == 400


async def test_delete_answers_the_deleted_stub_and_hides_the_object(harness: Harness) -> None:
    company = await harness.company()
    bill = await _bill(harness, company, "40.00")
    stale = await harness.post(company, "bill", {"Id": bill["Id"], "SyncToken": "7"}, operation="delete")
    assert _fault(stale)["code"] == "5010"

    deleted = await harness.post(company, "bill", {"Id": bill["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted.status_code == 200
    assert body(deleted)["Bill"] == {"status": "Deleted", "domain": "QBO", "Id": bill["Id"]}

    read = await harness.client.get(company.url(f"bill/{bill['Id']}"), headers=company.headers)
    assert _fault(read)["code"] == "610"
    assert (await harness.query(company, "SELECT COUNT(*) FROM Bill"))["QueryResponse"]["totalCount"] == 0

    vendor = body(await harness.post(company, "vendor", {"DisplayName": "Keep Me"}))["Vendor"]
    refused = await harness.post(
        company, "vendor", {"Id": vendor["Id"], "SyncToken": "0"}, operation="delete"
    )
    assert _fault(refused)["code"] == "500"


async def test_same_requestid_replays_the_original_answer_and_creates_one_object(harness: Harness) -> None:
    company = await harness.company()
    other = await harness.company("Other Books")
    payload = {"DisplayName": "Idempotent Supplies"}

    first = await harness.post(company, "vendor", payload, requestid="9f1c2a4e-replay")
    harness.clock.advance(5)
    second = await harness.post(company, "vendor", payload, requestid="9f1c2a4e-replay")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert (await harness.query(company, "SELECT COUNT(*) FROM Vendor"))["QueryResponse"]["totalCount"] == 1

    # A requestid is unique per company: another company runs it afresh.
    elsewhere = await harness.post(other, "vendor", payload, requestid="9f1c2a4e-replay")
    assert elsewhere.status_code == 200
    assert (await harness.query(other, "SELECT COUNT(*) FROM Vendor"))["QueryResponse"]["totalCount"] == 1

    # A failed write is not remembered, so the retry after fixing it goes through.
    failed = await harness.post(company, "bill", {"Line": []}, requestid="bill-1")
    assert failed.status_code == 400
    fixed = await _bill(harness, company, "12.00", DocNumber="R-1")
    assert fixed["DocNumber"] == "R-1"


async def test_batch_items_succeed_or_fail_on_their_own(harness: Harness) -> None:
    company = await harness.company(entities={"Vendor": [{"DisplayName": "Taken Name"}]})
    bill = await _bill(harness, company, "75.00")
    request = {
        "BatchItemRequest": [
            {"bId": "bid1", "operation": "create", "Vendor": {"DisplayName": "Smith Family Store"}},
            {"bId": "bid2", "operation": "create", "Vendor": {"DisplayName": "taken name"}},
            {
                "bId": "bid3",
                "operation": "update",
                "Bill": {"Id": bill["Id"], "SyncToken": "5", "sparse": True},
            },
            {"bId": "bid4", "operation": "delete", "Bill": {"Id": "4040", "SyncToken": "0"}},
            {
                "bId": "bid5",
                "operation": "update",
                "Bill": {
                    "Id": bill["Id"],
                    "SyncToken": "0",
                    "sparse": True,
                    "PrivateNote": "A private note.",
                },
            },
            {"bId": "bid6", "Query": "select * from Vendor where DisplayName LIKE 'Smith%'"},
            {"bId": "bid7", "Query": "select * from Vendor where"},
        ]
    }
    response = await harness.post(company, "batch", request)
    assert response.status_code == 200
    items = {item["bId"]: item for item in body(response)["BatchItemResponse"]}
    assert items["bid1"]["Vendor"]["DisplayName"] == "Smith Family Store"
    assert items["bid2"]["Fault"]["Error"][0]["code"] == "6240"
    assert items["bid3"]["Fault"]["Error"][0]["code"] == "5010"
    assert items["bid4"]["Fault"]["Error"][0]["code"] == "610"
    assert items["bid5"]["Bill"]["PrivateNote"] == "A private note."
    assert items["bid5"]["Bill"]["SyncToken"] == "1"
    assert items["bid6"]["QueryResponse"]["Vendor"][0]["DisplayName"] == "Smith Family Store"
    assert items["bid7"]["Fault"]["Error"][0]["code"] == "4000"
    vendors = await harness.query(company, "SELECT COUNT(*) FROM Vendor")
    assert vendors["QueryResponse"]["totalCount"] == 2

    too_many = {"BatchItemRequest": [{"bId": f"b{n}", "Query": "select * from Vendor"} for n in range(31)]}
    refused = await harness.post(company, "batch", too_many)
    assert refused.status_code == 400
    assert "Fault" in body(refused)


async def test_bill_payment_reduces_the_bill_balance_and_links_it(harness: Harness) -> None:
    company = await harness.company()
    bill = await _bill(harness, company, "300.00")
    assert bill["Balance"] == Decimal("300.00")
    assert bill["TotalAmt"] == Decimal("300.00")
    harness.clock.advance(30)

    payment: dict[str, Any] = {
        "VendorRef": {"value": "56"},
        "PayType": "Check",
        "TotalAmt": Decimal("120.00"),
        "CheckPayment": {"BankAccountRef": {"value": "35"}},
        "Line": [{"Amount": Decimal("120.00"), "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
    }
    paid = await harness.post(company, "billpayment", payment)
    assert paid.status_code == 200, paid.text
    bill_payment = body(paid)["BillPayment"]

    after = body(await harness.client.get(company.url(f"bill/{bill['Id']}"), headers=company.headers))["Bill"]
    assert after["Balance"] == Decimal("180.00")
    assert after["SyncToken"] == "1"
    assert after["MetaData"]["LastUpdatedTime"] > bill["MetaData"]["LastUpdatedTime"]
    assert after["LinkedTxn"] == [{"TxnId": bill_payment["Id"], "TxnType": "BillPaymentCheck"}]

    too_much = {
        **payment,
        "TotalAmt": Decimal("500"),
        "Line": [{**payment["Line"][0], "Amount": Decimal("500")}],
    }
    refused = await harness.post(company, "billpayment", too_much)
    assert _fault(refused)["code"] == "6000"
    unknown = {**payment, "Line": [{"Amount": 1, "LinkedTxn": [{"TxnId": "8888", "TxnType": "Bill"}]}]}
    assert _fault(await harness.post(company, "billpayment", unknown))["code"] == "2500"

    linked = await harness.post(company, "bill", {"Id": bill["Id"], "SyncToken": "1"}, operation="delete")
    assert _fault(linked)["code"] == "6000"

    removed = await harness.post(
        company, "billpayment", {"Id": bill_payment["Id"], "SyncToken": "0"}, operation="delete"
    )
    assert removed.status_code == 200
    restored = body(await harness.client.get(company.url(f"bill/{bill['Id']}"), headers=company.headers))[
        "Bill"
    ]
    assert restored["Balance"] == Decimal("300.00")
    assert "LinkedTxn" not in restored
    assert restored["SyncToken"] == "2"


async def test_payment_reduces_invoice_balance_and_keeps_the_rest_unapplied(harness: Harness) -> None:
    company = await harness.company(entities={"Customer": [{"DisplayName": "Dylan Sollfrank"}]})
    invoice = body(
        await harness.post(
            company,
            "invoice",
            {
                "CustomerRef": {"value": "1"},
                "TxnDate": "2025-06-10",
                "Line": [
                    {"Amount": Decimal("400.00"), "DetailType": "SalesItemLineDetail"},
                    {"Amount": Decimal("100.00"), "DetailType": "SalesItemLineDetail"},
                    {"Amount": Decimal("500.00"), "DetailType": "SubTotalLineDetail"},
                ],
            },
        )
    )["Invoice"]
    assert invoice["TotalAmt"] == Decimal("500.00")
    assert invoice["Balance"] == Decimal("500.00")
    assert invoice["DueDate"] == "2025-06-10"

    payment = body(
        await harness.post(
            company,
            "payment",
            {
                "CustomerRef": {"value": "1"},
                "TotalAmt": Decimal("600.00"),
                "Line": [
                    {
                        "Amount": Decimal("500.00"),
                        "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                    }
                ],
            },
        )
    )["Payment"]
    assert payment["UnappliedAmt"] == Decimal("100.00")
    paid = body(await harness.client.get(company.url(f"invoice/{invoice['Id']}"), headers=company.headers))[
        "Invoice"
    ]
    assert paid["Balance"] == Decimal("0.00")
    assert paid["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]

    reduced = body(
        await harness.post(
            company,
            "payment",
            {
                "Id": payment["Id"],
                "SyncToken": "0",
                "sparse": True,
                "Line": [
                    {
                        "Amount": Decimal("200.00"),
                        "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                    }
                ],
            },
        )
    )["Payment"]
    assert reduced["UnappliedAmt"] == Decimal("400.00")
    partly = body(await harness.client.get(company.url(f"invoice/{invoice['Id']}"), headers=company.headers))[
        "Invoice"
    ]
    assert partly["Balance"] == Decimal("300.00")

    # A full update of the invoice keeps the server-maintained payment link and the applied amount.
    rewritten = body(
        await harness.post(
            company,
            "invoice",
            {
                "Id": invoice["Id"],
                "SyncToken": partly["SyncToken"],
                "CustomerRef": {"value": "1"},
                "Line": [{"Amount": Decimal("450.00"), "DetailType": "SalesItemLineDetail"}],
            },
        )
    )["Invoice"]
    assert rewritten["Balance"] == Decimal("250.00")
    assert rewritten["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]


async def test_void_bill_payment_restores_the_bill(harness: Harness) -> None:
    company = await harness.company()
    bill = await _bill(harness, company, "80.00")
    payment = body(
        await harness.post(
            company,
            "billpayment",
            {
                "VendorRef": {"value": "56"},
                "PayType": "CreditCard",
                "CreditCardPayment": {"CCAccountRef": {"value": "41"}},
                "Line": [
                    {"Amount": Decimal("80.00"), "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}
                ],
            },
        )
    )["BillPayment"]
    assert payment["TotalAmt"] == Decimal("80.00")
    paid = body(await harness.client.get(company.url(f"bill/{bill['Id']}"), headers=company.headers))["Bill"]
    assert paid["LinkedTxn"][0]["TxnType"] == "BillPaymentCreditCard"

    voided = await harness.post(
        company,
        "billpayment",
        {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
        operation="update",
        include="void",
    )
    assert body(voided)["BillPayment"]["TotalAmt"] == 0
    assert body(voided)["BillPayment"]["PrivateNote"].startswith("Voided")
    reopened = body(await harness.client.get(company.url(f"bill/{bill['Id']}"), headers=company.headers))[
        "Bill"
    ]
    assert reopened["Balance"] == Decimal("80.00")


async def test_invoice_send_records_the_email_and_marks_it_sent(harness: Harness) -> None:
    company = await harness.company(entities={"Customer": [{"DisplayName": "Red Rock Diner"}]})
    invoice = body(
        await harness.post(
            company,
            "invoice",
            {
                "CustomerRef": {"value": "1"},
                "BillEmail": {"Address": "ap@redrock.example"},
                "Line": [{"Amount": Decimal("70.00"), "DetailType": "SalesItemLineDetail"}],
            },
        )
    )["Invoice"]
    assert invoice["EmailStatus"] == "NotSet"

    sent = await harness.client.post(
        company.url(f"invoice/{invoice['Id']}/send"),
        params={"sendTo": "owner@redrock.example"},
        headers={**company.headers, "Content-Type": "application/octet-stream"},
    )
    assert sent.status_code == 200, sent.text
    mailed = body(sent)["Invoice"]
    assert mailed["EmailStatus"] == "EmailSent"
    assert mailed["DeliveryInfo"]["DeliveryType"] == "Email"
    assert mailed["BillEmail"] == {"Address": "owner@redrock.example"}
    assert mailed["SyncToken"] == "1"

    again = await harness.client.post(company.url(f"invoice/{invoice['Id']}/send"), headers=company.headers)
    assert body(again)["Invoice"]["SyncToken"] == "2"
    emails = await harness.sandbox.sent_emails(company.realm_id)
    assert [(e["id"], e["address"]) for e in emails] == [
        (invoice["Id"], "owner@redrock.example"),
        (invoice["Id"], "owner@redrock.example"),
    ]


async def test_company_info_and_preferences(harness: Harness) -> None:
    company = await harness.company("Craig's Design and Landscaping")
    info = await harness.client.get(company.url(f"companyinfo/{company.realm_id}"), headers=company.headers)
    assert body(info)["CompanyInfo"]["CompanyName"] == "Craig's Design and Landscaping"
    prefs = await harness.client.get(company.url("preferences"), headers=company.headers)
    assert body(prefs)["Preferences"]["CurrencyPrefs"]["HomeCurrency"] == {"value": "USD"}
    queried = await harness.query(company, "SELECT * FROM CompanyInfo")
    assert queried["QueryResponse"]["CompanyInfo"][0]["Id"] == "1"


async def test_sparse_due_date_change_keeps_the_stored_totals(harness: Harness) -> None:
    company = await harness.company(
        entities={
            "Bill": [
                {
                    "VendorRef": {"value": "56"},
                    "TxnDate": "2025-06-01",
                    "DueDate": "2025-06-15",
                    "TotalAmt": Decimal("410.00"),
                    "Balance": Decimal("160.00"),
                }
            ]
        }
    )
    bill = (await harness.query(company, "SELECT * FROM Bill"))["QueryResponse"]["Bill"][0]
    moved = await harness.post(
        company,
        "bill",
        {"Id": bill["Id"], "SyncToken": bill["SyncToken"], "sparse": True, "DueDate": "2025-07-15"},
    )
    assert moved.status_code == 200, moved.text
    after = body(moved)["Bill"]
    assert after["DueDate"] == "2025-07-15"
    assert after["TotalAmt"] == Decimal("410.00")
    assert after["Balance"] == Decimal("160.00")
