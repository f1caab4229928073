"""Builders for calculator tests: terse snapshots with sensible defaults (home currency USD)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from runway.services.calculators.snapshots import (
    AccountSnap,
    BillPaymentSnap,
    BillSnap,
    BusinessSnapshot,
    CreditMemoSnap,
    CustomerSnap,
    DepositLineSnap,
    DepositSnap,
    InvoiceSnap,
    LineSnap,
    PaymentSnap,
    PurchaseSnap,
    SalesReceiptSnap,
    TermSnap,
    VendorCreditSnap,
    VendorSnap,
)

HOME = "USD"
SNAPSHOT_AT = dt.datetime(2025, 3, 3, 8, 0, tzinfo=dt.UTC)
BANK_ID = "35"
CARD_ID = "41"
UF_ID = "4"


def d(text: str) -> dt.date:
    """ISO date."""
    return dt.date.fromisoformat(text)


def bank(
    balance: int, qbo_id: str = BANK_ID, *, name: str = "Checking", active: bool = True, **kw: Any
) -> AccountSnap:
    return AccountSnap(
        qbo_id=qbo_id,
        name=name,
        account_type="Bank",
        account_sub_type="Checking",
        current_balance_cents=balance,
        active=active,
        **kw,
    )


def card(balance: int, qbo_id: str = CARD_ID, **kw: Any) -> AccountSnap:
    return AccountSnap(
        qbo_id=qbo_id,
        name="Visa",
        account_type="Credit Card",
        account_sub_type="CreditCard",
        current_balance_cents=balance,
        **kw,
    )


def undeposited(balance: int, qbo_id: str = UF_ID, **kw: Any) -> AccountSnap:
    return AccountSnap(
        qbo_id=qbo_id,
        name="Undeposited Funds",
        account_type="Other Current Asset",
        account_sub_type="UndepositedFunds",
        current_balance_cents=balance,
        **kw,
    )


def account(qbo_id: str, name: str, account_type: str = "Expense", **kw: Any) -> AccountSnap:
    return AccountSnap(qbo_id=qbo_id, name=name, account_type=account_type, **kw)


def term(qbo_id: str, due_days: int | None, name: str | None = None) -> TermSnap:
    return TermSnap(qbo_id=qbo_id, name=name or f"Net {due_days}", due_days=due_days)


def vendor(qbo_id: str = "V1", term_id: str | None = None, **kw: Any) -> VendorSnap:
    return VendorSnap(
        qbo_id=qbo_id, display_name=kw.pop("name", f"Vendor {qbo_id}"), term_qbo_id=term_id, **kw
    )


def customer(qbo_id: str = "C1", term_id: str | None = None, **kw: Any) -> CustomerSnap:
    return CustomerSnap(
        qbo_id=qbo_id, display_name=kw.pop("name", f"Customer {qbo_id}"), sales_term_qbo_id=term_id, **kw
    )


def line(
    amount: int, account_id: str | None = "60", account_name: str | None = "Supplies", **kw: Any
) -> LineSnap:
    return LineSnap(amount_cents=amount, account_qbo_id=account_id, account_name=account_name, **kw)


def bill(
    qbo_id: str,
    amount: int,
    *,
    txn: str = "2025-02-01",
    due: str | None = "2025-03-03",
    balance: int | None = None,
    vendor_id: str = "V1",
    lines: tuple[LineSnap, ...] | None = None,
    **kw: Any,
) -> BillSnap:
    return BillSnap(
        qbo_id=qbo_id,
        vendor_qbo_id=vendor_id,
        txn_date=d(txn),
        due_date=d(due) if due else None,
        total_cents=amount,
        balance_cents=amount if balance is None else balance,
        lines=(line(amount),) if lines is None else lines,
        **kw,
    )


def invoice(
    qbo_id: str,
    amount: int,
    *,
    txn: str = "2025-02-01",
    due: str | None = "2025-03-03",
    balance: int | None = None,
    customer_id: str = "C1",
    **kw: Any,
) -> InvoiceSnap:
    return InvoiceSnap(
        qbo_id=qbo_id,
        customer_qbo_id=customer_id,
        txn_date=d(txn),
        due_date=d(due) if due else None,
        total_cents=amount,
        balance_cents=amount if balance is None else balance,
        **kw,
    )


def payment(
    qbo_id: str,
    on: str,
    amount: int,
    *invoice_ids: str,
    customer_id: str = "C1",
    unapplied: int = 0,
    deposit_to: str | None = UF_ID,
    **kw: Any,
) -> PaymentSnap:
    return PaymentSnap(
        qbo_id=qbo_id,
        customer_qbo_id=customer_id,
        txn_date=d(on),
        total_cents=amount,
        unapplied_cents=unapplied,
        deposit_to_account_qbo_id=deposit_to,
        linked_invoice_ids=invoice_ids,
        **kw,
    )


def purchase(
    qbo_id: str, on: str, amount: int, *, paid_from: str = BANK_ID, credit: bool = False, **kw: Any
) -> PurchaseSnap:
    return PurchaseSnap(
        qbo_id=qbo_id, txn_date=d(on), total_cents=amount, account_qbo_id=paid_from, credit=credit, **kw
    )


def deposit(qbo_id: str, on: str, *lines: DepositLineSnap, to: str = BANK_ID, **kw: Any) -> DepositSnap:
    return DepositSnap(qbo_id=qbo_id, txn_date=d(on), deposit_to_account_qbo_id=to, lines=lines, **kw)


def dline(amount: int, linked_type: str | None = None, linked_id: str | None = None) -> DepositLineSnap:
    return DepositLineSnap(amount_cents=amount, linked_txn_type=linked_type, linked_txn_id=linked_id)


def sales_receipt(
    qbo_id: str, on: str, amount: int, *, to: str | None = BANK_ID, **kw: Any
) -> SalesReceiptSnap:
    return SalesReceiptSnap(
        qbo_id=qbo_id, txn_date=d(on), total_cents=amount, deposit_to_account_qbo_id=to, **kw
    )


def bill_payment(
    qbo_id: str, on: str, amount: int, *, paid_from: str = BANK_ID, **kw: Any
) -> BillPaymentSnap:
    return BillPaymentSnap(
        qbo_id=qbo_id,
        vendor_qbo_id=kw.pop("vendor_id", "V1"),
        txn_date=d(on),
        total_cents=amount,
        paid_from_account_qbo_id=paid_from,
        **kw,
    )


def vendor_credit(qbo_id: str, balance: int, **kw: Any) -> VendorCreditSnap:
    return VendorCreditSnap(
        qbo_id=qbo_id,
        vendor_qbo_id=kw.pop("vendor_id", "V1"),
        txn_date=d(kw.pop("on", "2025-02-01")),
        total_cents=kw.pop("total", balance),
        balance_cents=balance,
        **kw,
    )


def credit_memo(qbo_id: str, balance: int, **kw: Any) -> CreditMemoSnap:
    return CreditMemoSnap(
        qbo_id=qbo_id,
        customer_qbo_id=kw.pop("customer_id", "C1"),
        txn_date=d(kw.pop("on", "2025-02-01")),
        total_cents=kw.pop("total", balance),
        balance_cents=balance,
        **kw,
    )


def snapshot(**kw: Any) -> BusinessSnapshot:
    """A snapshot with one vendor V1 and one customer C1 unless told otherwise."""
    kw.setdefault("business_name", "Test Co")
    kw.setdefault("home_currency", HOME)
    kw.setdefault("snapshot_at", SNAPSHOT_AT)
    kw.setdefault("vendors", (vendor("V1"),))
    kw.setdefault("customers", (customer("C1"),))
    kw.setdefault("last_successful_sync_at", SNAPSHOT_AT - dt.timedelta(hours=1))
    kw.setdefault("realm_id", "9130357766900000")
    for key, value in list(kw.items()):
        if isinstance(value, list):
            kw[key] = tuple(value)
    return BusinessSnapshot(**kw)
