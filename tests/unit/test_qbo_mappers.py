"""Unit tests (domain QBO mappers): recorded QBO payloads map to rows; malformed ones raise MappingError."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domains.ap.models import Bill, BillPayment, Term, Vendor, VendorCredit
from domains.ar.models import CreditMemo, Customer, Invoice, Payment, SalesReceipt
from domains.bank.models import Account, Deposit, Purchase
from domains.qbo.mappers import (
    MAPPERS,
    MappingError,
    deleted_id,
    is_deleted,
    map_company_info,
    map_entity,
    map_preferences,
)
from domains.synced import json_safe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qbo"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def entity(name: str, key: str) -> dict[str, Any]:
    obj = load(name)[key]
    assert isinstance(obj, dict)
    return obj


def batch_item(key: str) -> dict[str, Any]:
    (item,) = [
        i[key]
        for i in load("batch_sales_receipt_vendor_credit_credit_memo.json")["BatchItemResponse"]
        if key in i
    ]
    return item


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_registry_covers_every_synced_entity_with_its_model() -> None:
    expected = {
        "Term": Term,
        "Vendor": Vendor,
        "Customer": Customer,
        "Account": Account,
        "Bill": Bill,
        "BillPayment": BillPayment,
        "VendorCredit": VendorCredit,
        "Invoice": Invoice,
        "Payment": Payment,
        "SalesReceipt": SalesReceipt,
        "CreditMemo": CreditMemo,
        "Purchase": Purchase,
        "Deposit": Deposit,
    }
    assert {name: mapper.model for name, mapper in MAPPERS.items()} == expected


def test_bill_with_account_based_lines() -> None:
    obj = entity("bill.json", "Bill")
    row = map_entity("Bill", obj, home_currency="USD")
    values = dict(row.values)
    assert values.pop("raw") is obj
    assert values == {
        "qbo_id": "25",
        "sync_token": "2",
        "qbo_updated_at": dt.datetime(2025, 6, 9, 21, 34, 4, tzinfo=dt.UTC),
        "txn_date": dt.date(2025, 6, 2),
        "total_cents": 160267,
        "currency": "USD",
        "exchange_rate": None,
        "home_total_cents": None,
        "doc_number": "NL-8812",
        "private_note": "Lumber for the Hardy deck",
        "vendor_qbo_id": "46",
        "vendor_name": "Norton Lumber and Building Materials",
        "due_date": dt.date(2025, 7, 2),
        "balance_cents": 100000,
        "home_balance_cents": None,
        "sales_term_qbo_id": "3",
        "total_tax_cents": None,
        "ap_account_qbo_id": "33",
    }
    assert [dict(line) for line in row.lines] == [
        {
            "line_id": "1",
            "detail_type": "AccountBasedExpenseLineDetail",
            "account_qbo_id": "64",
            "account_name": "Job Expenses:Job Materials:Decks and Patios",
            "item_qbo_id": None,
            "amount_cents": 140267,
            "description": "Pressure-treated decking",
        },
        {
            "line_id": "2",
            "detail_type": "AccountBasedExpenseLineDetail",
            "account_qbo_id": "31",
            "account_name": "Uncategorized Expense",
            "item_qbo_id": None,
            "amount_cents": 20000,
            "description": None,
        },
    ]
    assert row.values["qbo_updated_at"].tzinfo is dt.UTC


def test_foreign_currency_invoice_keeps_rate_and_home_amounts() -> None:
    row = map_entity("Invoice", entity("invoice.json", "Invoice"), home_currency="USD")
    v = row.values
    assert (v["currency"], v["exchange_rate"]) == ("CAD", "0.7327")
    assert (v["total_cents"], v["balance_cents"]) == (121050, 60525)
    assert (v["home_total_cents"], v["home_balance_cents"]) == (88691, 44346)
    assert (v["customer_qbo_id"], v["sales_term_qbo_id"], v["total_tax_cents"]) == ("58", "3", 11050)
    assert (v["email_status"], v["bill_email"]) == ("EmailSent", "ap@mapleleaf.example")
    assert v["due_date"] == dt.date(2025, 6, 14)
    assert [(line["detail_type"], line["item_qbo_id"], line["amount_cents"]) for line in row.lines] == [
        ("SalesItemLineDetail", "4", 110000),
        ("SubTotalLineDetail", None, 110000),
    ]


def test_payment_lines_link_invoices_and_credit_memos() -> None:
    row = map_entity("Payment", entity("payment.json", "Payment"), home_currency="USD")
    assert row.values["customer_qbo_id"] == "58"
    assert row.values["total_cents"] == 70000
    assert row.values["unapplied_cents"] == 5475
    assert row.values["deposit_to_account_qbo_id"] == "4"
    assert row.values["payment_ref_num"] == "4471"
    assert [dict(line) for line in row.lines] == [
        {"line_id": None, "amount_cents": 60525, "linked_txn_id": "130", "linked_txn_type": "Invoice"},
        {"line_id": None, "amount_cents": 4000, "linked_txn_id": "131", "linked_txn_type": "CreditMemo"},
    ]


def test_payment_without_unapplied_amount_derives_it_from_lines() -> None:
    obj = entity("payment.json", "Payment")
    del obj["UnappliedAmt"]
    row = map_entity("Payment", obj, home_currency="USD")
    assert row.values["unapplied_cents"] == 70000 - 60525 - 4000


def test_deposit_with_linked_and_unlinked_lines() -> None:
    row = map_entity("Deposit", entity("deposit.json", "Deposit"), home_currency="USD")
    assert row.values["deposit_to_account_qbo_id"] == "35"
    assert row.values["total_cents"] == 194510
    assert row.values["cash_back_cents"] == 2000
    linked, direct = row.lines
    assert (linked["linked_txn_id"], linked["linked_txn_type"], linked["linked_txn_line_id"]) == (
        "121",
        "Payment",
        "0",
    )
    assert (linked["amount_cents"], linked["account_qbo_id"]) == (167552, None)
    assert (direct["linked_txn_id"], direct["linked_txn_type"]) == (None, None)
    assert (direct["account_qbo_id"], direct["entity_qbo_id"], direct["entity_type"]) == (
        "11",
        "31",
        "VENDOR",
    )
    assert (direct["amount_cents"], direct["detail_type"]) == (26958, "DepositLineDetail")


def test_purchase_credit_is_a_card_refund() -> None:
    row = map_entity("Purchase", entity("purchase_credit.json", "Purchase"), home_currency="USD")
    v = row.values
    assert (v["payment_type"], v["account_qbo_id"], v["account_name"], v["credit"]) == (
        "CreditCard",
        "41",
        "Mastercard",
        True,
    )
    assert (v["entity_qbo_id"], v["entity_type"], v["entity_name"]) == (
        "57",
        "Vendor",
        "Squeaky Kleen Car Wash",
    )
    assert v["total_cents"] == 1999
    assert [(line["account_qbo_id"], line["account_name"], line["amount_cents"]) for line in row.lines] == [
        ("55", "Automobile", 1999)
    ]


def test_purchase_without_credit_flag_is_not_a_refund() -> None:
    obj = entity("purchase_credit.json", "Purchase")
    del obj["Credit"]
    assert map_entity("Purchase", obj, home_currency="USD").values["credit"] is False


def test_accounts_from_a_query_page() -> None:
    accounts = load("accounts_query.json")["QueryResponse"]["Account"]
    rows = {
        row.qbo_id: row.values for row in (map_entity("Account", a, home_currency="USD") for a in accounts)
    }
    assert rows["35"]["account_type"] == "Bank"
    assert rows["35"]["current_balance_cents"] == 120100
    assert rows["4"]["account_sub_type"] == "UndepositedFunds"
    # Liabilities come back negative from QBO and are stored as QBO says.
    assert (rows["33"]["classification"], rows["33"]["current_balance_cents"]) == ("Liability", -160267)
    assert (rows["5"]["name"], rows["5"]["active"]) == ("Fees Billed (deleted)", False)


def test_vendor_with_terms() -> None:
    v = map_entity("Vendor", entity("vendor.json", "Vendor"), home_currency="USD").values
    assert (v["display_name"], v["term_qbo_id"], v["balance_cents"]) == (
        "Norton Lumber and Building Materials",
        "3",
        100000,
    )
    assert (v["email"], v["active"], v["currency"]) == ("orders@nortonlumber.example", True, "USD")


def test_customer_sub_customer() -> None:
    v = map_entity("Customer", entity("customer.json", "Customer"), home_currency="USD").values
    assert (v["parent_qbo_id"], v["sales_term_qbo_id"], v["currency"], v["balance_cents"]) == (
        "58",
        "3",
        "CAD",
        0,
    )


def test_term() -> None:
    v = map_entity("Term", entity("term.json", "Term"), home_currency="USD").values
    assert (v["name"], v["type"], v["due_days"], v["discount_percent"], v["discount_days"], v["active"]) == (
        "Net 30 (2% 10)",
        "STANDARD",
        30,
        "2",
        10,
        True,
    )
    assert v["day_of_month_due"] is None


def test_bill_payment_by_check() -> None:
    row = map_entity("BillPayment", entity("bill_payment.json", "BillPayment"), home_currency="USD")
    assert (row.values["pay_type"], row.values["pay_from_account_qbo_id"]) == ("Check", "35")
    assert [(line["linked_txn_id"], line["linked_txn_type"], line["amount_cents"]) for line in row.lines] == [
        ("25", "Bill", 60267)
    ]


def test_sales_receipt_vendor_credit_credit_memo_from_a_batch_response() -> None:
    receipt = map_entity("SalesReceipt", batch_item("SalesReceipt"), home_currency="USD").values
    assert (receipt["customer_qbo_id"], receipt["deposit_to_account_qbo_id"], receipt["total_cents"]) == (
        "10",
        "4",
        33750,
    )
    credit = map_entity("VendorCredit", batch_item("VendorCredit"), home_currency="USD").values
    assert (credit["vendor_qbo_id"], credit["balance_cents"], credit["total_cents"]) == ("46", 9000, 9000)
    memo = map_entity("CreditMemo", batch_item("CreditMemo"), home_currency="USD").values
    assert (memo["customer_qbo_id"], memo["balance_cents"], memo["remaining_credit_cents"]) == (
        "58",
        6000,
        6000,
    )
    assert (memo["currency"], memo["exchange_rate"]) == ("CAD", "0.7327")


def test_missing_currency_ref_means_home_currency() -> None:
    obj = entity("bill.json", "Bill")
    del obj["CurrencyRef"]
    assert map_entity("Bill", obj, home_currency="GBP").values["currency"] == "GBP"


def test_deleted_entity_marker_is_recognised_not_mapped() -> None:
    live, deleted = load("cdc_deleted.json")["CDCResponse"][0]["QueryResponse"][0]["Bill"]
    assert not is_deleted(live)
    assert is_deleted(deleted)
    assert deleted_id(deleted) == "25"
    assert map_entity("Bill", live, home_currency="USD").qbo_id == "26"
    with pytest.raises(MappingError, match="deleted-entity marker"):
        map_entity("Bill", deleted, home_currency="USD")


def test_company_info_and_preferences() -> None:
    info = map_company_info(entity("company_info.json", "CompanyInfo"))
    assert (info.company_name, info.legal_name, info.country, info.timezone) == (
        "Larry's Bakery",
        "Larry's Bakery LLC",
        "US",
        None,
    )
    prefs = map_preferences(entity("preferences.json", "Preferences"))
    assert (prefs.home_currency, prefs.multicurrency_enabled, prefs.timezone) == (
        "USD",
        True,
        "America/Los_Angeles",
    )


def test_preferences_without_currency_prefs() -> None:
    prefs = map_preferences({"Id": "1", "SyncToken": "0"})
    assert (prefs.home_currency, prefs.multicurrency_enabled, prefs.timezone) == (None, False, None)


def test_company_info_without_name_is_malformed() -> None:
    with pytest.raises(MappingError, match="CompanyName is missing"):
        map_company_info({"Id": "1"})


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        (Decimal("10.005"), 1001),
        (Decimal("10.004"), 1000),
        (Decimal("-10.005"), -1001),
        (Decimal("0.125"), 13),
        (Decimal("-0.125"), -13),
        ("2.345", 235),
        ("-2.345", -235),
        (7, 700),
        (Decimal("200.0"), 20000),
    ],
)
def test_money_rounds_half_away_from_zero(amount: Decimal | str | int, cents: int) -> None:
    obj = entity("bill.json", "Bill")
    obj["TotalAmt"] = amount
    assert map_entity("Bill", obj, home_currency="USD").values["total_cents"] == cents


def mutate(
    path: list[str | int], value: Any, *, name: str = "bill.json", key: str = "Bill"
) -> dict[str, Any]:
    """A fixture (the bill by default) with the field at `path` set to `value` (or removed when value
    is ...)."""
    obj = copy.deepcopy(entity(name, key))
    target: Any = obj
    for step in path[:-1]:
        target = target[step]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return obj


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (["Id"], ..., "Id is missing"),
        (["Id"], "abc", "Id: expected an id of digits, got 'abc'"),
        (["SyncToken"], ..., "SyncToken is missing"),
        (["TotalAmt"], "12,50", "TotalAmt: not a numeric amount: '12,50'"),
        (["TotalAmt"], "NaN", "TotalAmt: not a numeric amount: 'NaN'"),
        (["TotalAmt"], 12.5, "TotalAmt: float money 12.5"),
        (["TotalAmt"], True, "TotalAmt: expected a number, got a boolean"),
        (["TotalAmt"], ..., "TotalAmt is missing"),
        (["TotalAmt"], Decimal("9" * 27), "TotalAmt: amount out of range"),
        (["Balance"], 10**17, "Balance: amount out of range"),
        (["Balance"], {"value": 1}, "Balance: expected a number, got an object"),
        (["Line", 1, "Amount"], "x", "Line[1].Amount: not a numeric amount: 'x'"),
        (["TxnDate"], "06/02/2025", "TxnDate: expected a YYYY-MM-DD date, got '06/02/2025'"),
        (["DueDate"], "2025-02-30", "DueDate: not a calendar date: '2025-02-30'"),
        (["TxnDate"], ..., "TxnDate is missing"),
        (["VendorRef"], ..., "VendorRef is missing"),
        (["VendorRef"], "46", "VendorRef: expected an object, got str '46'"),
        (["VendorRef", "value"], 46, "VendorRef.value: expected a string, got int 46"),
        (["Line"], {"Amount": 1}, "Line: expected a list, got an object"),
        (["DocNumber"], 1037, "DocNumber: expected a string, got int 1037"),
        (["CurrencyRef", "value"], "usd", "CurrencyRef.value: expected a 3-letter currency code, got 'usd'"),
        (["ExchangeRate"], "0", "ExchangeRate: must be positive, got 0"),
        (["MetaData"], ..., "MetaData is missing"),
        (["MetaData", "LastUpdatedTime"], "2015-07-14T12:34:04", "timestamp without a UTC offset"),
        (
            ["MetaData", "LastUpdatedTime"],
            "yesterday",
            "MetaData.LastUpdatedTime: not a timestamp: 'yesterday'",
        ),
        (["DocNumber"], "N" * 65, "doc_number: 65 characters, longer than 64"),
    ],
)
def test_malformed_bill_raises_with_a_clear_reason(path: list[str | int], value: Any, reason: str) -> None:
    with pytest.raises(MappingError) as caught:
        map_entity("Bill", mutate(path, value), home_currency="USD")
    assert reason in caught.value.reason
    assert caught.value.entity == "Bill"
    assert str(caught.value).startswith("Bill")


def test_mapping_error_names_the_entity_id() -> None:
    with pytest.raises(MappingError) as caught:
        map_entity("Bill", mutate(["TotalAmt"], "abc"), home_currency="USD")
    assert caught.value.qbo_id == "25"
    assert str(caught.value) == "Bill Id 25: TotalAmt: not a numeric amount: 'abc'"


def test_payment_line_linking_several_transactions_is_refused() -> None:
    obj = entity("payment.json", "Payment")
    obj["Line"][0]["LinkedTxn"].append({"TxnId": "132", "TxnType": "Invoice"})
    with pytest.raises(MappingError, match=r"Line\[0\]: links 2 transactions"):
        map_entity("Payment", obj, home_currency="USD")


def test_non_object_entity_and_unknown_entity_type() -> None:
    with pytest.raises(MappingError, match="expected an object"):
        map_entity("Bill", ["not", "an", "object"], home_currency="USD")  # type: ignore[arg-type]
    with pytest.raises(MappingError, match="no mapper for QBO entity 'Estimate'"):
        map_entity("Estimate", {}, home_currency="USD")


def test_unknown_bill_pay_type() -> None:
    obj = entity("bill_payment.json", "BillPayment")
    obj["PayType"] = "Cash"
    with pytest.raises(MappingError, match="PayType: expected Check or CreditCard"):
        map_entity("BillPayment", obj, home_currency="USD")


def test_integer_ids_and_string_amounts_are_accepted() -> None:
    obj = entity("vendor.json", "Vendor")
    obj["Id"] = 46
    obj["SyncToken"] = 7
    obj["Balance"] = "12.50"
    v = map_entity("Vendor", obj, home_currency="USD").values
    assert (v["qbo_id"], v["sync_token"], v["balance_cents"]) == ("46", "7", 1250)


def test_raw_is_stored_json_safe_without_losing_exactness() -> None:
    obj = entity("invoice.json", "Invoice")
    safe = json_safe(obj)
    text = json.dumps(safe)
    assert json.loads(text, parse_float=Decimal)["TotalAmt"] == Decimal("1210.50")
    assert json.loads(text, parse_float=Decimal)["ExchangeRate"] == Decimal("0.7327")
    assert json_safe(Decimal("0.10000000000000000000001")) == "0.10000000000000000000001"
    assert json_safe(Decimal("3")) == 3


@pytest.mark.parametrize(
    ("name", "key", "path", "value", "reason"),
    [
        # An empty object is present, not absent: its required fields are still asked for.
        ("purchase_credit.json", "Purchase", ["EntityRef"], {}, "EntityRef.value is missing"),
        (
            "deposit.json",
            "Deposit",
            ["Line", 0, "LinkedTxn", 0, "TxnType"],
            ...,
            "Line[0].LinkedTxn[0].TxnType",
        ),
        (
            "deposit.json",
            "Deposit",
            ["Line", 1, "DepositLineDetail", "Entity"],
            {"type": "VENDOR"},
            "Line[1].DepositLineDetail.Entity.value is missing",
        ),
        (
            "deposit.json",
            "Deposit",
            ["Line", 1, "DepositLineDetail", "AccountRef", "value"],
            11,
            "Line[1].DepositLineDetail.AccountRef.value: expected a string, got int 11",
        ),
        (
            "payment.json",
            "Payment",
            ["Line", 0, "LinkedTxn", 0],
            "130",
            "Line[0].LinkedTxn[0]: expected an object",
        ),
        ("term.json", "Term", ["DueDays"], 2**70, f"DueDays: {2**70} is out of range"),
        ("bill.json", "Bill", ["Id"], "\uff12\uff15", None),
        ("bill.json", "Bill", ["Id"], "25 ", "Id: expected an id of digits, got '25 '"),
        ("bill.json", "Bill", ["TxnTaxDetail"], {"TotalTax": 1.5}, "TxnTaxDetail.TotalTax: float money 1.5"),
        (
            "vendor.json",
            "Vendor",
            ["PrimaryEmailAddr"],
            {"Address": 7},
            "PrimaryEmailAddr.Address: expected a",
        ),
    ],
)
def test_nested_fields_are_named_by_their_path(
    name: str, key: str, path: list[str | int], value: Any, reason: str | None
) -> None:
    obj = mutate(path, value, name=name, key=key)
    if reason is None:
        # Any Unicode decimal digits count as digits, as the regular expression always allowed.
        assert map_entity(key, obj, home_currency="USD").values["qbo_id"] == value
        return
    with pytest.raises(MappingError) as caught:
        map_entity(key, obj, home_currency="USD")
    assert reason in caught.value.reason
