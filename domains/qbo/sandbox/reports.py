"""Domain (QBO sandbox): the AgedPayables and AgedReceivables summary reports in QBO's report layout.

Open bills (AgedPayables) or invoices (AgedReceivables) are bucketed by days past DueDate (TxnDate when
there is none) as of `report_date`: Current (not yet due), 1 - 30, 31 - 60, 61 - 90, 91 and over. One row
per vendor/customer, then a GrandTotal section. Cell values are strings, "" for an empty cell, as in QBO.
Balances are today's: the sandbox keeps no payment history, so a past `report_date` ages current balances.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from domains.qbo.sandbox import faults
from domains.qbo.sandbox.codec import parse_date, response_time, to_decimal
from domains.qbo.sandbox.storage import Tx

BUCKETS = ("Current", "1 - 30", "31 - 60", "61 - 90", "91 and over")
_BUCKET_KEYS = ("current", "0", "1", "2", "3")
_CENT = Decimal("0.01")


def bucket_index(days_past_due: int) -> int:
    if days_past_due <= 0:
        return 0
    if days_past_due <= 30:
        return 1
    if days_past_due <= 60:
        return 2
    if days_past_due <= 90:
        return 3
    return 4


def _money(value: Decimal, *, blank_zero: bool) -> str:
    if blank_zero and value == 0:
        return ""
    return str(value.quantize(_CENT))


async def aged_report(
    tx: Tx, realm_id: str, name: str, params: dict[str, str], *, tz: dt.tzinfo, now: dt.datetime
) -> dict[str, Any]:
    payables = name == "AgedPayables"
    doc_entity, party_entity, ref_key = (
        ("Bill", "Vendor", "VendorRef") if payables else ("Invoice", "Customer", "CustomerRef")
    )
    today = now.astimezone(tz).date()
    raw_date = params.get("report_date")
    report_date = parse_date(raw_date) if raw_date else today
    if report_date is None:
        raise faults.invalid_property(f"report_date {raw_date} is not a date (YYYY-MM-DD)")
    as_of = today if params.get("aging_method", "Report_Date") == "Current" else report_date
    wanted = {value.strip() for value in params.get("vendor" if payables else "customer", "").split(",")}
    wanted.discard("")

    parties = {str(row.id): row.doc for row in await tx.select(realm_id, party_entity)}
    totals: dict[str, list[Decimal]] = {}
    names: dict[str, str] = {}
    for row in await tx.select(realm_id, doc_entity):
        doc = row.doc
        balance = to_decimal(doc.get("Balance"))
        txn_date = parse_date(doc.get("TxnDate"))
        if not balance or (txn_date is not None and txn_date > report_date):
            continue
        raw_ref = doc.get(ref_key)
        ref: dict[str, Any] = raw_ref if isinstance(raw_ref, dict) else {}
        party_id = str(ref.get("value", ""))
        if wanted and party_id not in wanted:
            continue
        due = parse_date(doc.get("DueDate")) or txn_date or as_of
        buckets = totals.setdefault(party_id, [Decimal(0)] * len(BUCKETS))
        buckets[bucket_index((as_of - due).days)] += balance
        party = parties.get(party_id, {})
        names[party_id] = str(party.get("DisplayName") or ref.get("name") or "Not Specified")

    prefs = await tx.first(realm_id, "Preferences")
    currency = "USD"
    if prefs is not None:
        home = (prefs.doc.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}
        currency = home.get("value", currency) if isinstance(home, dict) else currency

    rows: list[dict[str, Any]] = []
    grand = [Decimal(0)] * len(BUCKETS)
    for party_id in sorted(totals, key=lambda key: (names[key].casefold(), key)):
        buckets = totals[party_id]
        grand = [a + b for a, b in zip(grand, buckets, strict=True)]
        cells: list[dict[str, str]] = [{"value": names[party_id], "id": party_id}]
        cells += [{"value": _money(value, blank_zero=True)} for value in buckets]
        cells.append({"value": _money(sum(buckets, Decimal(0)), blank_zero=True)})
        rows.append({"ColData": cells, "type": "Data"})
    summary = [{"value": "TOTAL"}] + [{"value": _money(value, blank_zero=False)} for value in grand]
    summary.append({"value": _money(sum(grand, Decimal(0)), blank_zero=False)})
    rows.append({"Summary": {"ColData": summary}, "type": "Section", "group": "GrandTotal"})

    options = [
        {"Name": "report_date", "Value": report_date.isoformat()},
        {"Name": "NoReportData", "Value": "false" if totals else "true"},
    ]
    header: dict[str, Any] = {
        "Time": response_time(now, tz),
        "ReportName": name,
        "StartPeriod": report_date.isoformat(),
        "EndPeriod": report_date.isoformat(),
        "SummarizeColumnsBy": "Total",
        "Currency": currency,
        "Option": options,
    }
    if not raw_date:
        header["DateMacro"] = "today"
    party_key = party_entity.lower()
    columns = [
        {"ColTitle": "", "ColType": party_entity, "MetaData": [{"Name": "ColKey", "Value": party_key}]}
    ]
    columns += [
        {"ColTitle": title, "ColType": "Money", "MetaData": [{"Name": "ColKey", "Value": key}]}
        for title, key in zip(BUCKETS, _BUCKET_KEYS, strict=True)
    ]
    columns.append(
        {"ColTitle": "Total", "ColType": "Money", "MetaData": [{"Name": "ColKey", "Value": "total"}]}
    )
    return {"Header": header, "Columns": {"Column": columns}, "Rows": {"Row": rows}}
