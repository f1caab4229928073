"""Domain (AR): CRUD primitives over synced customers, invoices, payments, sales receipts and credit memos.

Every function takes the business_id: there is no path to AR rows that is not scoped to one business.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncSession

from domains.ar.models import CreditMemo, Customer, Invoice, Payment, SalesReceipt
from domains.synced import dated_between, get_entity, list_entities


async def list_customers(
    session: AsyncSession, business_id: int, *, active_only: bool = False
) -> list[Customer]:
    """Customers of the business by display name; inactive ones too unless `active_only`."""
    where = [Customer.active == true()] if active_only else []
    return await list_entities(session, business_id, Customer, *where, order_by=[Customer.display_name])


async def get_customer(session: AsyncSession, business_id: int, qbo_id: str) -> Customer | None:
    return await get_entity(session, business_id, Customer, qbo_id)


async def list_invoices(
    session: AsyncSession, business_id: int, *, with_lines: bool = False
) -> list[Invoice]:
    """Every synced invoice of the business, paid ones included (lateness history needs them)."""
    return await list_entities(
        session, business_id, Invoice, order_by=[Invoice.txn_date], with_lines=with_lines
    )


async def list_open_invoices(
    session: AsyncSession, business_id: int, *, with_lines: bool = False
) -> list[Invoice]:
    """Invoices with an open balance (balance_cents > 0), oldest due first; no DueDate last."""
    return await list_entities(
        session,
        business_id,
        Invoice,
        Invoice.balance_cents > 0,
        order_by=[Invoice.due_date.is_(None), Invoice.due_date, Invoice.txn_date],
        with_lines=with_lines,
    )


async def get_invoice(
    session: AsyncSession, business_id: int, qbo_id: str, *, with_lines: bool = False
) -> Invoice | None:
    """One invoice by QBO Id; None when absent or owned by another business."""
    return await get_entity(session, business_id, Invoice, qbo_id, with_lines=with_lines)


async def list_payments(session: AsyncSession, business_id: int, *, with_lines: bool = True) -> list[Payment]:
    """Customer payments of the business with the invoices and credit memos each applies to."""
    return await list_entities(
        session, business_id, Payment, order_by=[Payment.txn_date], with_lines=with_lines
    )


async def list_unapplied_payments(session: AsyncSession, business_id: int) -> list[Payment]:
    """Payments with money not applied to any invoice (unapplied_cents > 0)."""
    return await list_entities(
        session, business_id, Payment, Payment.unapplied_cents > 0, order_by=[Payment.txn_date]
    )


async def list_sales_receipts(
    session: AsyncSession, business_id: int, *, since: dt.date | None = None, until: dt.date | None = None
) -> list[SalesReceipt]:
    """Sales receipts dated within [since, until] (inclusive, either bound optional)."""
    return await list_entities(
        session,
        business_id,
        SalesReceipt,
        *dated_between(SalesReceipt.txn_date, since, until),
        order_by=[SalesReceipt.txn_date],
    )


async def list_open_credit_memos(session: AsyncSession, business_id: int) -> list[CreditMemo]:
    """Credit memos not yet fully applied: part of the unapplied amount of AR aging."""
    return await list_entities(
        session, business_id, CreditMemo, CreditMemo.balance_cents > 0, order_by=[CreditMemo.txn_date]
    )
