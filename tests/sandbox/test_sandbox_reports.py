"""QBO sandbox: AgedPayables and AgedReceivables — buckets by days past due, string cells, grand total."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.sandbox.support import Harness, body

pytestmark = pytest.mark.anyio


def _bill(vendor: str, due: str, balance: str, txn_date: str = "2025-01-01") -> dict[str, Any]:
    return {
        "VendorRef": {"value": vendor},
        "TxnDate": txn_date,
        "DueDate": due,
        "TotalAmt": Decimal(balance) + Decimal(5),
        "Balance": Decimal(balance),
    }


async def test_aged_payables_buckets_and_totals(harness: Harness) -> None:
    company = await harness.company(
        entities={
            "Vendor": [
                {"Id": "56", "DisplayName": "Bob's Burger Joint"},
                {"Id": "57", "DisplayName": "Adam's Paint"},
            ],
            "Bill": [
                _bill("56", "2025-07-05", "100.00"),  # not yet due: Current
                _bill("56", "2025-06-30", "10.00"),  # due on the report date: Current
                _bill("56", "2025-06-20", "25.50"),  # 10 days past due
                _bill("57", "2025-05-16", "40.00"),  # 45 days
                _bill("57", "2025-04-16", "60.00"),  # 75 days
                _bill("57", "2025-01-31", "200.00"),  # 150 days
                _bill("57", "2025-06-01", "0"),  # paid: not open
                _bill("56", "2025-07-30", "999.00", txn_date="2025-07-02"),  # entered after the report date
                # No DueDate: aged from TxnDate (60 days past).
                {
                    "VendorRef": {"value": "56"},
                    "TxnDate": "2025-05-01",
                    "Balance": Decimal("7.25"),
                },
            ],
        }
    )
    response = await harness.client.get(
        company.url("reports/AgedPayables"), params={"report_date": "2025-06-30"}, headers=company.headers
    )
    assert response.status_code == 200
    report = body(response)
    header = report["Header"]
    assert header["ReportName"] == "AgedPayables"
    assert {"Name": "report_date", "Value": "2025-06-30"} in header["Option"]
    assert {"Name": "NoReportData", "Value": "false"} in header["Option"]
    titles = [column["ColTitle"] for column in report["Columns"]["Column"]]
    assert titles == ["", "Current", "1 - 30", "31 - 60", "61 - 90", "91 and over", "Total"]

    rows = report["Rows"]["Row"]
    data = {row["ColData"][0]["value"]: [cell["value"] for cell in row["ColData"][1:]] for row in rows[:-1]}
    assert list(data) == ["Adam's Paint", "Bob's Burger Joint"]
    assert data["Bob's Burger Joint"] == ["110.00", "25.50", "7.25", "", "", "142.75"]
    assert data["Adam's Paint"] == ["", "", "40.00", "60.00", "200.00", "300.00"]
    assert rows[0]["ColData"][0]["id"] == "57"

    total = rows[-1]
    assert total["type"] == "Section"
    assert total["group"] == "GrandTotal"
    assert [cell["value"] for cell in total["Summary"]["ColData"]] == [
        "TOTAL",
        "110.00",
        "25.50",
        "47.25",
        "60.00",
        "200.00",
        "442.75",
    ]


async def test_aged_receivables_from_invoices_and_an_empty_report(harness: Harness) -> None:
    company = await harness.company(
        entities={
            "Customer": [{"Id": "3", "DisplayName": "Cool Cars"}],
            "Invoice": [
                {
                    "CustomerRef": {"value": "3"},
                    "TxnDate": "2025-03-01",
                    "DueDate": "2025-04-15",
                    "Balance": 694,
                },
                {
                    "CustomerRef": {"value": "3"},
                    "TxnDate": "2025-06-01",
                    "DueDate": "2025-07-01",
                    "Balance": 1,
                },
            ],
        }
    )
    response = await harness.client.get(
        company.url("reports/AgedReceivables"), params={"report_date": "2025-06-30"}, headers=company.headers
    )
    rows = body(response)["Rows"]["Row"]
    assert [cell["value"] for cell in rows[0]["ColData"]] == [
        "Cool Cars",
        "1.00",
        "",
        "",
        "694.00",
        "",
        "695.00",
    ]

    empty = await harness.company("No Bills Co")
    report = body(await harness.client.get(empty.url("reports/AgedPayables"), headers=empty.headers))
    assert {"Name": "NoReportData", "Value": "true"} in report["Header"]["Option"]
    assert report["Header"]["DateMacro"] == "today"
    assert report["Rows"]["Row"][-1]["Summary"]["ColData"][-1] == {"value": "0.00"}
