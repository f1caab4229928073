"""Domain (AP): CRUD primitives over synced terms, vendors, bills, bill payments and vendor credits.

Every function takes the business_id: there is no path to AP rows that is not scoped to one business.
"""

from __future__ import annotations

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncSession

from domains.ap.models import Bill, BillPayment, Term, Vendor, VendorCredit
from domains.synced import get_entity, list_entities


async def list_terms(session: AsyncSession, business_id: int) -> list[Term]:
    """All terms of the business, inactive ones included (old bills still point at them)."""
    return await list_entities(session, business_id, Term)


async def list_vendors(session: AsyncSession, business_id: int, *, active_only: bool = False) -> list[Vendor]:
    """Vendors of the business by display name; inactive ones too unless `active_only`."""
    where = [Vendor.active == true()] if active_only else []
    return await list_entities(session, business_id, Vendor, *where, order_by=[Vendor.display_name])


async def get_vendor(session: AsyncSession, business_id: int, qbo_id: str) -> Vendor | None:
    return await get_entity(session, business_id, Vendor, qbo_id)


async def list_bills(session: AsyncSession, business_id: int, *, with_lines: bool = False) -> list[Bill]:
    """Every synced bill of the business, paid ones included."""
    return await list_entities(session, business_id, Bill, order_by=[Bill.txn_date], with_lines=with_lines)


async def list_open_bills(session: AsyncSession, business_id: int, *, with_lines: bool = False) -> list[Bill]:
    """Bills with an open balance (balance_cents > 0), oldest due first; bills without DueDate last."""
    return await list_entities(
        session,
        business_id,
        Bill,
        Bill.balance_cents > 0,
        order_by=[Bill.due_date.is_(None), Bill.due_date, Bill.txn_date],
        with_lines=with_lines,
    )


async def get_bill(
    session: AsyncSession, business_id: int, qbo_id: str, *, with_lines: bool = False
) -> Bill | None:
    """One bill by QBO Id; None when absent or owned by another business."""
    return await get_entity(session, business_id, Bill, qbo_id, with_lines=with_lines)


async def list_bill_payments(
    session: AsyncSession, business_id: int, *, with_lines: bool = True
) -> list[BillPayment]:
    """Bill payments of the business with the bills and credits each applies to."""
    return await list_entities(
        session, business_id, BillPayment, order_by=[BillPayment.txn_date], with_lines=with_lines
    )


async def list_open_vendor_credits(session: AsyncSession, business_id: int) -> list[VendorCredit]:
    """Vendor credits not yet fully applied: the unapplied amount of AP aging."""
    return await list_entities(
        session, business_id, VendorCredit, VendorCredit.balance_cents > 0, order_by=[VendorCredit.txn_date]
    )
