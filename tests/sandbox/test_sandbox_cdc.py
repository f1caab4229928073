"""QBO sandbox: change data capture — envelope, deletions after live objects, 30-day and 1000-object caps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.sandbox.support import Harness, body

pytestmark = pytest.mark.anyio


async def test_cdc_groups_changes_per_entity_with_deletions_last(harness: Harness) -> None:
    old_bill = {
        "VendorRef": {"value": "1"},
        "Line": [{"Amount": Decimal("5"), "DetailType": "AccountBasedExpenseLineDetail"}],
        "MetaData": {
            "CreateTime": "2025-01-02T10:00:00-08:00",
            "LastUpdatedTime": "2025-01-02T10:00:00-08:00",
        },
    }
    company = await harness.company(
        entities={"Bill": [old_bill], "Vendor": [{"DisplayName": "Quiet Vendor"}]}
    )
    since = harness.clock.now
    harness.clock.advance(60)

    line = [{"Amount": Decimal("10"), "DetailType": "AccountBasedExpenseLineDetail"}]
    keep = body(await harness.post(company, "bill", {"VendorRef": {"value": "1"}, "Line": line}))["Bill"]
    drop = body(await harness.post(company, "bill", {"VendorRef": {"value": "1"}, "Line": line}))["Bill"]
    harness.clock.advance(60)
    gone = await harness.post(company, "bill", {"Id": drop["Id"], "SyncToken": "0"}, operation="delete")
    assert gone.status_code == 200
    account = body(await harness.post(company, "account", {"Name": "Petty Cash", "AccountType": "Bank"}))[
        "Account"
    ]

    stamp = since.isoformat()
    response = await harness.client.get(
        company.url("cdc"),
        params={"entities": "Bill,Account,Invoice", "changedSince": stamp},
        headers=company.headers,
    )
    assert response.status_code == 200
    payload = body(response)
    assert set(payload) == {"CDCResponse", "time"}
    blocks = payload["CDCResponse"][0]["QueryResponse"]
    assert len(blocks) == 3

    bills = blocks[0]["Bill"]
    assert blocks[0]["startPosition"] == 1
    assert blocks[0]["maxResults"] == 2
    assert bills[0]["Id"] == keep["Id"]
    assert bills[0]["Line"][0]["Amount"] == Decimal("10")
    assert bills[1] == {
        "domain": "QBO",
        "status": "Deleted",
        "Id": drop["Id"],
        "MetaData": {"LastUpdatedTime": bills[1]["MetaData"]["LastUpdatedTime"]},
    }
    assert bills[1]["MetaData"]["LastUpdatedTime"] > keep["MetaData"]["LastUpdatedTime"]
    assert [row["Id"] for row in blocks[1]["Account"]] == [account["Id"]]
    assert blocks[2] == {}

    lower = await harness.client.get(
        company.url("cdc"), params={"entities": "bill", "changedSince": stamp}, headers=company.headers
    )
    assert len(body(lower)["CDCResponse"][0]["QueryResponse"][0]["Bill"]) == 2


async def test_cdc_refuses_a_lookback_beyond_30_days(harness: Harness) -> None:
    company = await harness.company()
    too_old = (harness.clock.now - dt.timedelta(days=31)).isoformat()
    response = await harness.client.get(
        company.url("cdc"), params={"entities": "Bill", "changedSince": too_old}, headers=company.headers
    )
    assert response.status_code == 400
    error = body(response)["Fault"]["Error"][0]
    assert "older than fixed days" in error["Detail"]

    inside = (harness.clock.now - dt.timedelta(days=29)).date().isoformat()
    fine = await harness.client.get(
        company.url("cdc"), params={"entities": "Bill", "changedSince": inside}, headers=company.headers
    )
    assert fine.status_code == 200
    assert body(fine)["CDCResponse"][0]["QueryResponse"] == [{}]


async def test_cdc_without_entities_answers_a_system_fault_in_a_200(harness: Harness) -> None:
    company = await harness.company()
    response = await harness.client.get(
        company.url("cdc"), params={"changedSince": harness.clock.now.isoformat()}, headers=company.headers
    )
    assert response.status_code == 200
    assert body(response)["Fault"]["type"] == "SystemFault"
    assert body(response)["Fault"]["Error"][0]["code"] == "10000"
    unknown = await harness.client.get(
        company.url("cdc"),
        params={"entities": "Estimates", "changedSince": harness.clock.now.isoformat()},
        headers=company.headers,
    )
    assert "Invalid entity supplied" in body(unknown)["Fault"]["Error"][0]["Detail"]


async def test_cdc_holds_at_most_1000_objects_oldest_first(harness: Harness) -> None:
    stamp = "2025-06-30T09:00:00-07:00"
    vendors = [
        {"DisplayName": f"V{n:04d}", "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp}}
        for n in range(1001)
    ]
    company = await harness.company(entities={"Vendor": vendors})
    response = await harness.client.get(
        company.url("cdc"),
        params={"entities": "Vendor", "changedSince": "2025-06-30T00:00:00-07:00"},
        headers=company.headers,
    )
    block = body(response)["CDCResponse"][0]["QueryResponse"][0]
    assert block["maxResults"] == 1000
    assert block["Vendor"][0]["DisplayName"] == "V0000"
    assert block["Vendor"][-1]["DisplayName"] == "V0999"
