"""Data orchestrator (shared): assembles a business's BusinessSnapshot for the calculators from domains/.

Rows are read with Core selects (tuples, not ORM objects) and lines in one query per table, because a
business can hold tens of thousands of entities and every screen that shows a number starts here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from domains.ap.models import Bill, BillLine, BillPayment, BillPaymentLine, Term, Vendor, VendorCredit
from domains.ar.models import CreditMemo, Customer, Invoice, Payment, PaymentLine, SalesReceipt
from domains.bank.models import Account, Deposit, DepositLine, Purchase, PurchaseLine
from domains.core.db import utcnow
from domains.core.models import Business
from domains.qbo.models import SyncRun
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


class BusinessNotFoundError(LookupError):
    """No business with that id."""


def _decimal(text: str | None) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _currency(code: str | None, home: str) -> str | None:
    # The calculators read None as "home currency"; only foreign documents carry a code.
    return None if code is None or code == home else code


async def _rows(session: AsyncSession, table: Table, business_id: int, *columns: str) -> Sequence[Any]:
    stmt = select(*(table.c[c] for c in columns)).where(table.c.business_id == business_id)
    return (await session.execute(stmt)).all()


async def _lines_by_parent(
    session: AsyncSession,
    table: Table,
    parent_column: str,
    business_id: int,
    *columns: str,
    build: Callable[..., Any],
) -> dict[int, tuple[Any, ...]]:
    stmt = (
        select(table.c[parent_column], *(table.c[c] for c in columns))
        .where(table.c.business_id == business_id)
        .order_by(table.c[parent_column], table.c.position)
    )
    grouped: dict[int, list[Any]] = defaultdict(list)
    for parent_id, *values in (await session.execute(stmt)).all():
        grouped[parent_id].append(build(*values))
    return {key: tuple(value) for key, value in grouped.items()}


def _t(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _expense_line(
    detail_type: str | None, account_qbo_id: str | None, account_name: str | None, amount: int
) -> LineSnap:
    return LineSnap(
        amount_cents=amount,
        detail_type=detail_type or "AccountBasedExpenseLineDetail",
        account_qbo_id=account_qbo_id,
        account_name=account_name,
    )


async def load_business_snapshot(session: AsyncSession, business_id: int) -> BusinessSnapshot:
    """Everything synced for one business, as the calculators' frozen input (home currency from QBO)."""
    business = await session.get(Business, business_id)
    if business is None:
        raise BusinessNotFoundError(business_id)
    home = business.home_currency

    accounts = tuple(
        AccountSnap(
            qbo_id=qbo_id,
            name=name,
            account_type=account_type,
            account_sub_type=sub_type,
            current_balance_cents=balance,
            currency=_currency(currency, home),
            active=active,
        )
        for qbo_id, name, account_type, sub_type, balance, currency, active in await _rows(
            session,
            _t(Account),
            business_id,
            "qbo_id",
            "name",
            "account_type",
            "account_sub_type",
            "current_balance_cents",
            "currency",
            "active",
        )
    )
    terms = tuple(
        TermSnap(
            qbo_id=qbo_id,
            name=name,
            due_days=due_days,
            discount_percent=_decimal(discount_percent),
            discount_days=discount_days,
            active=active,
        )
        for qbo_id, name, due_days, discount_percent, discount_days, active in await _rows(
            session,
            _t(Term),
            business_id,
            "qbo_id",
            "name",
            "due_days",
            "discount_percent",
            "discount_days",
            "active",
        )
    )
    vendors = tuple(
        VendorSnap(qbo_id=qbo_id, display_name=name, term_qbo_id=term, active=active)
        for qbo_id, name, term, active in await _rows(
            session, _t(Vendor), business_id, "qbo_id", "display_name", "term_qbo_id", "active"
        )
    )
    customers = tuple(
        CustomerSnap(qbo_id=qbo_id, display_name=name, sales_term_qbo_id=term, active=active)
        for qbo_id, name, term, active in await _rows(
            session, _t(Customer), business_id, "qbo_id", "display_name", "sales_term_qbo_id", "active"
        )
    )

    bill_lines = await _lines_by_parent(
        session,
        _t(BillLine),
        "bill_id",
        business_id,
        "detail_type",
        "account_qbo_id",
        "account_name",
        "amount_cents",
        build=_expense_line,
    )
    bills = tuple(
        BillSnap(
            qbo_id=r.qbo_id,
            vendor_qbo_id=r.vendor_qbo_id,
            txn_date=r.txn_date,
            due_date=r.due_date,
            total_cents=r.total_cents,
            balance_cents=r.balance_cents,
            currency=_currency(r.currency, home),
            exchange_rate=_decimal(r.exchange_rate),
            home_balance_cents=r.home_balance_cents,
            home_total_cents=r.home_total_cents,
            sales_term_qbo_id=r.sales_term_qbo_id,
            doc_number=r.doc_number,
            total_tax_cents=r.total_tax_cents,
            lines=bill_lines.get(r.id, ()),
        )
        for r in await _rows(
            session,
            _t(Bill),
            business_id,
            "id",
            "qbo_id",
            "vendor_qbo_id",
            "txn_date",
            "due_date",
            "total_cents",
            "balance_cents",
            "currency",
            "exchange_rate",
            "home_balance_cents",
            "home_total_cents",
            "sales_term_qbo_id",
            "doc_number",
            "total_tax_cents",
        )
    )
    invoices = tuple(
        InvoiceSnap(
            qbo_id=r.qbo_id,
            customer_qbo_id=r.customer_qbo_id,
            txn_date=r.txn_date,
            due_date=r.due_date,
            total_cents=r.total_cents,
            balance_cents=r.balance_cents,
            currency=_currency(r.currency, home),
            exchange_rate=_decimal(r.exchange_rate),
            home_balance_cents=r.home_balance_cents,
            home_total_cents=r.home_total_cents,
            sales_term_qbo_id=r.sales_term_qbo_id,
            doc_number=r.doc_number,
            total_tax_cents=r.total_tax_cents,
        )
        for r in await _rows(
            session,
            _t(Invoice),
            business_id,
            "qbo_id",
            "customer_qbo_id",
            "txn_date",
            "due_date",
            "total_cents",
            "balance_cents",
            "currency",
            "exchange_rate",
            "home_balance_cents",
            "home_total_cents",
            "sales_term_qbo_id",
            "doc_number",
            "total_tax_cents",
        )
    )

    payment_links = await _lines_by_parent(
        session,
        _t(PaymentLine),
        "payment_id",
        business_id,
        "linked_txn_type",
        "linked_txn_id",
        build=lambda kind, txn: txn if kind == "Invoice" and txn else None,
    )
    payments = tuple(
        PaymentSnap(
            qbo_id=r.qbo_id,
            customer_qbo_id=r.customer_qbo_id,
            txn_date=r.txn_date,
            total_cents=r.total_cents,
            unapplied_cents=r.unapplied_cents,
            deposit_to_account_qbo_id=r.deposit_to_account_qbo_id,
            linked_invoice_ids=tuple(i for i in payment_links.get(r.id, ()) if i),
            currency=_currency(r.currency, home),
            exchange_rate=_decimal(r.exchange_rate),
        )
        for r in await _rows(
            session,
            _t(Payment),
            business_id,
            "id",
            "qbo_id",
            "customer_qbo_id",
            "txn_date",
            "total_cents",
            "unapplied_cents",
            "deposit_to_account_qbo_id",
            "currency",
            "exchange_rate",
        )
    )

    bill_payment_links = await _lines_by_parent(
        session,
        _t(BillPaymentLine),
        "bill_payment_id",
        business_id,
        "linked_txn_type",
        "linked_txn_id",
        build=lambda kind, txn: txn if kind == "Bill" and txn else None,
    )
    bill_payments = tuple(
        BillPaymentSnap(
            qbo_id=r.qbo_id,
            vendor_qbo_id=r.vendor_qbo_id,
            txn_date=r.txn_date,
            total_cents=r.total_cents,
            paid_from_account_qbo_id=r.pay_from_account_qbo_id,
            linked_bill_ids=tuple(i for i in bill_payment_links.get(r.id, ()) if i),
            currency=_currency(r.currency, home),
            exchange_rate=_decimal(r.exchange_rate),
        )
        for r in await _rows(
            session,
            _t(BillPayment),
            business_id,
            "id",
            "qbo_id",
            "vendor_qbo_id",
            "txn_date",
            "total_cents",
            "pay_from_account_qbo_id",
            "currency",
            "exchange_rate",
        )
    )

    purchase_lines = await _lines_by_parent(
        session,
        _t(PurchaseLine),
        "purchase_id",
        business_id,
        "detail_type",
        "account_qbo_id",
        "account_name",
        "amount_cents",
        build=_expense_line,
    )
    purchases = tuple(
        PurchaseSnap(
            qbo_id=r.qbo_id,
            txn_date=r.txn_date,
            total_cents=r.total_cents,
            account_qbo_id=r.account_qbo_id,
            entity_qbo_id=r.entity_qbo_id,
            entity_type=r.entity_type,
            credit=r.credit,
            lines=purchase_lines.get(r.id, ()),
            currency=_currency(r.currency, home),
            exchange_rate=_decimal(r.exchange_rate),
        )
        for r in await _rows(
            session,
            _t(Purchase),
            business_id,
            "id",
            "qbo_id",
            "txn_date",
            "total_cents",
            "account_qbo_id",
            "entity_qbo_id",
            "entity_type",
            "credit",
            "currency",
            "exchange_rate",
        )
    )

    deposit_lines = await _lines_by_parent(
        session,
        _t(DepositLine),
        "deposit_id",
        business_id,
        "amount_cents",
        "linked_txn_type",
        "linked_txn_id",
        build=lambda amount, kind, txn: DepositLineSnap(
            amount_cents=amount, linked_txn_type=kind, linked_txn_id=txn
        ),
    )
    deposits = tuple(
        DepositSnap(
            qbo_id=r.qbo_id,
            txn_date=r.txn_date,
            deposit_to_account_qbo_id=r.deposit_to_account_qbo_id,
            lines=deposit_lines.get(r.id, ()),
            currency=_currency(r.currency, home),
            exchange_rate=_decimal(r.exchange_rate),
        )
        for r in await _rows(
            session,
            _t(Deposit),
            business_id,
            "id",
            "qbo_id",
            "txn_date",
            "deposit_to_account_qbo_id",
            "currency",
            "exchange_rate",
        )
    )
    sales_receipts = tuple(
        SalesReceiptSnap(
            qbo_id=r.qbo_id,
            txn_date=r.txn_date,
            total_cents=r.total_cents,
            deposit_to_account_qbo_id=r.deposit_to_account_qbo_id,
            customer_qbo_id=r.customer_qbo_id,
            currency=_currency(r.currency, home),
            exchange_rate=_decimal(r.exchange_rate),
        )
        for r in await _rows(
            session,
            _t(SalesReceipt),
            business_id,
            "qbo_id",
            "txn_date",
            "total_cents",
            "deposit_to_account_qbo_id",
            "customer_qbo_id",
            "currency",
            "exchange_rate",
        )
    )
    vendor_credits = tuple(
        VendorCreditSnap(
            qbo_id=r.qbo_id,
            vendor_qbo_id=r.vendor_qbo_id,
            txn_date=r.txn_date,
            total_cents=r.total_cents,
            balance_cents=r.balance_cents,
            currency=_currency(r.currency, home),
            exchange_rate=_decimal(r.exchange_rate),
            home_balance_cents=r.home_balance_cents,
        )
        for r in await _rows(
            session,
            _t(VendorCredit),
            business_id,
            "qbo_id",
            "vendor_qbo_id",
            "txn_date",
            "total_cents",
            "balance_cents",
            "currency",
            "exchange_rate",
            "home_balance_cents",
        )
    )
    credit_memos = tuple(
        CreditMemoSnap(
            qbo_id=r.qbo_id,
            customer_qbo_id=r.customer_qbo_id,
            txn_date=r.txn_date,
            total_cents=r.total_cents,
            balance_cents=r.balance_cents,
            currency=_currency(r.currency, home),
            exchange_rate=_decimal(r.exchange_rate),
            home_balance_cents=r.home_balance_cents,
        )
        for r in await _rows(
            session,
            _t(CreditMemo),
            business_id,
            "qbo_id",
            "customer_qbo_id",
            "txn_date",
            "total_cents",
            "balance_cents",
            "currency",
            "exchange_rate",
            "home_balance_cents",
        )
    )

    last_ok, last_failed = await _sync_health(session, business_id)
    return BusinessSnapshot(
        business_name=business.name,
        home_currency=home,
        # Balances are those of the last sync: that is when this picture of the business was taken.
        snapshot_at=last_ok or utcnow(),
        accounts=accounts,
        terms=terms,
        vendors=vendors,
        customers=customers,
        bills=bills,
        invoices=invoices,
        payments=payments,
        purchases=purchases,
        deposits=deposits,
        sales_receipts=sales_receipts,
        vendor_credits=vendor_credits,
        credit_memos=credit_memos,
        bill_payments=bill_payments,
        last_successful_sync_at=last_ok,
        last_sync_failed=last_failed,
        realm_id=business.realm_id or "",
    )


async def _sync_health(session: AsyncSession, business_id: int) -> tuple[dt.datetime | None, bool]:
    """When the last sync succeeded, and whether the most recent finished run failed."""
    rows = (
        await session.execute(
            select(SyncRun.status, SyncRun.finished_at)
            .where(SyncRun.business_id == business_id, SyncRun.status.in_(("succeeded", "failed")))
            .order_by(SyncRun.finished_at.desc(), SyncRun.id.desc())
            .limit(50)
        )
    ).all()
    last_ok = next((finished for status, finished in rows if status == "succeeded"), None)
    last_failed = bool(rows) and rows[0][0] == "failed"
    return last_ok, last_failed
