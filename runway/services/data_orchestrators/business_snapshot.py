"""Data orchestrator (shared): assembles a business's BusinessSnapshot for the calculators from domains/.

Rows are read with Core selects (tuples, not ORM objects) and lines in one query per table, because a
business can hold tens of thousands of entities and every screen that shows a number starts here. A
snapshot read once is kept under the business's data-version stamp and served again until the books
change (`books_cache`): reading the stamp is one indexed row, reading the books is a query per table.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from domains.ap.models import Bill, BillLine, BillPayment, BillPaymentLine, Term, Vendor, VendorCredit
from domains.ar.models import CreditMemo, Customer, Invoice, Payment, PaymentLine, SalesReceipt
from domains.bank.models import Account, Deposit, DepositLine, Purchase, PurchaseLine
from domains.core import foreground
from domains.core import repository as core
from domains.core.data_versions import data_version
from domains.core.db import utcnow
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
from runway.services.data_orchestrators.books_cache import BooksCache

# A few businesses' snapshots: a 50,000-entity company's is tens of megabytes.
_SNAPSHOTS: BooksCache[BusinessSnapshot] = BooksCache(size=6, out_of_gc=True)


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


def _t(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# Snapshot fields whose column has another name.
_COLUMN_FOR_FIELD = {"paid_from_account_qbo_id": "pay_from_account_qbo_id"}
# Rows built between turns of the event loop: a large company's books take a good fraction of a second
# to read, and after a sync this runs in the serving process while people use it.
_ROWS_PER_TURN = 500


def _batches(session: AsyncSession, stmt: Any, *, mappings: bool = False) -> AsyncIterator[Sequence[Any]]:
    """`foreground.row_batches` of `_ROWS_PER_TURN` rows, hurried when a request waits for this read."""
    return foreground.row_batches(session, stmt, _ROWS_PER_TURN, mappings=mappings, hurried=_hurried)


def _hurried() -> bool:
    reading = _CURRENT_READ.get()
    return reading is not None and reading.hurry


async def _load(
    session: AsyncSession,
    model: Any,
    business_id: int,
    snapshot_type: Any,
    home: str,
    *,
    children: Mapping[str, dict[int, tuple[Any, ...]]] | None = None,
) -> tuple[Any, ...]:
    """Every row of `model` for the business as `snapshot_type`, field by field from same-named columns.

    `children` maps a snapshot field (lines, linked ids) to values grouped by the row's surrogate id.
    Currency codes equal to the home currency become None, the calculators' "home"; rates become Decimal.
    """
    table = _t(model)
    columns = {
        f.name: _COLUMN_FOR_FIELD.get(f.name, f.name)
        for f in dataclasses.fields(snapshot_type)
        if _COLUMN_FOR_FIELD.get(f.name, f.name) in table.c
    }
    stmt = select(table.c.id, *(table.c[c].label(name) for name, c in columns.items())).where(
        table.c.business_id == business_id
    )
    built = []
    async for batch in _batches(session, stmt, mappings=True):
        for row in batch:
            values = {name: row[name] for name in columns}
            if "currency" in values:
                values["currency"] = _currency(values["currency"], home)
            for decimal_field in ("exchange_rate", "discount_percent"):
                if decimal_field in values:
                    values[decimal_field] = _decimal(values[decimal_field])
            for name, grouped in (children or {}).items():
                values[name] = grouped.get(row["id"], ())
            built.append(snapshot_type(**values))
    return tuple(built)


async def _lines_by_parent(
    session: AsyncSession,
    model: Any,
    parent_column: str,
    business_id: int,
    *columns: str,
    build: Callable[..., Any],
) -> dict[int, tuple[Any, ...]]:
    table = _t(model)
    stmt = (
        select(table.c[parent_column], *(table.c[c] for c in columns))
        .where(table.c.business_id == business_id)
        .order_by(table.c[parent_column], table.c.position)
    )
    # The rows come ordered by parent: each parent's group is closed as the next one starts, batch by
    # batch, rather than all of them in one pass at the end (tens of milliseconds for a large company).
    grouped: dict[int, tuple[Any, ...]] = {}
    parent: Any = None
    group: list[Any] = []
    async for batch in _batches(session, stmt):
        for parent_id, *values in batch:
            if parent_id != parent:
                if group:
                    grouped[parent] = tuple(group)
                parent, group = parent_id, []
            built = build(*values)
            if built is not None:
                group.append(built)
    if group:
        grouped[parent] = tuple(group)
    return grouped


def _expense_line(
    detail_type: str | None, account_qbo_id: str | None, account_name: str | None, amount: int
) -> LineSnap:
    return LineSnap(
        amount_cents=amount,
        detail_type=detail_type or "AccountBasedExpenseLineDetail",
        account_qbo_id=account_qbo_id,
        account_name=account_name,
    )


def _linked(kind: str) -> Callable[[str | None, str | None], str | None]:
    """A line's linked transaction id when it links to a `kind` (a Payment line to an Invoice, say)."""
    return lambda linked_type, linked_id: linked_id if linked_type == kind and linked_id else None


async def books_stamp(session: AsyncSession, business_id: int) -> str | None:
    """The stamp of the business's books as they are now (``None``: nothing stored for it yet)."""
    return await data_version(session, business_id)


_UNREAD = ""


def cached_business_snapshot(business_id: int, stamp: str | None, name: str) -> BusinessSnapshot | None:
    """The snapshot `load_business_snapshot` would serve from its cache for this stamp and name, if any."""
    cached = _SNAPSHOTS.get((business_id, stamp)) if stamp is not None else None
    return cached if cached is not None and cached.business_name == name else None


async def load_business_snapshot(
    session: AsyncSession, business_id: int, *, stamp: str | None = _UNREAD, name: str | None = None
) -> BusinessSnapshot:
    """Everything synced for one business, as the calculators' frozen input (home currency from QBO).

    Served from the in-process cache while the business's data-version stamp is unchanged; pass the
    `stamp` (and the business's `name`) when they were just read in this session, to spare reading them
    again.
    """
    if stamp == _UNREAD:
        stamp = await books_stamp(session, business_id)
    if stamp is None:
        return await read_business_snapshot(session, business_id)
    if name is None:
        business = await core.business_row(session, business_id)
        if business is None:
            raise BusinessNotFoundError(business_id)
        name = business.name
    cached = cached_business_snapshot(business_id, stamp, name)
    if cached is not None:
        return cached
    key = (business_id, stamp)
    loop = asyncio.get_running_loop()
    reading = _READING.get(key)
    if reading is not None and reading.done.get_loop() is loop:
        # The same books are being read (after a sync, the refresh and the first screens all want them):
        # wait for that read, and have it stop giving way to requests, this one among them.
        reading.hurry = True
        shared = await asyncio.shield(reading.done)
        if shared is not None and shared.business_name == name:
            return shared
    reading = _Reading(loop.create_future())
    _READING[key] = reading
    token = _CURRENT_READ.set(reading)
    snapshot: BusinessSnapshot | None = None
    try:
        snapshot = await read_business_snapshot(session, business_id)
    finally:
        _CURRENT_READ.reset(token)
        if _READING.get(key) is reading:
            del _READING[key]
        reading.done.set_result(snapshot)  # None: it failed, and whoever waits reads the books itself
    return _SNAPSHOTS.put(key, snapshot)


def previous_books(business_id: int, name: str, stamp: str) -> tuple[str, BusinessSnapshot] | None:
    """The stamp and snapshot of the business's cached books used last, other than those of `stamp`: what
    screens show for the second or two in which the books after a sync are being worked out."""
    for key in _SNAPSHOTS.used_last_first():
        cached_business, previous = cast(tuple[int, str], key)
        if cached_business == business_id and previous != stamp:
            snapshot = cached_business_snapshot(business_id, previous, name)
            return None if snapshot is None else (previous, snapshot)
    return None


class _Reading:
    """A read of one business's books in progress, which others asking for the same books wait for."""

    __slots__ = ("done", "hurry")

    def __init__(self, done: asyncio.Future[BusinessSnapshot | None]) -> None:
        self.done = done
        # Set when a request waits for this read: it then takes turns without waiting for requests.
        self.hurry = False


_READING: dict[tuple[int, str], _Reading] = {}
_CURRENT_READ: contextvars.ContextVar[_Reading | None] = contextvars.ContextVar(
    "runway_books_read", default=None
)


async def read_business_snapshot(session: AsyncSession, business_id: int) -> BusinessSnapshot:
    """Everything synced for one business, read from the database now (no cache)."""
    business = await core.business_row(session, business_id)
    if business is None:
        raise BusinessNotFoundError(business_id)
    home = business.home_currency
    expense = ("detail_type", "account_qbo_id", "account_name", "amount_cents")
    bill_lines = await _lines_by_parent(
        session, BillLine, "bill_id", business_id, *expense, build=_expense_line
    )
    purchase_lines = await _lines_by_parent(
        session, PurchaseLine, "purchase_id", business_id, *expense, build=_expense_line
    )
    invoice_links = await _lines_by_parent(
        session,
        PaymentLine,
        "payment_id",
        business_id,
        "linked_txn_type",
        "linked_txn_id",
        build=_linked("Invoice"),
    )
    bill_links = await _lines_by_parent(
        session,
        BillPaymentLine,
        "bill_payment_id",
        business_id,
        "linked_txn_type",
        "linked_txn_id",
        build=_linked("Bill"),
    )
    deposit_lines = await _lines_by_parent(
        session,
        DepositLine,
        "deposit_id",
        business_id,
        "amount_cents",
        "linked_txn_type",
        "linked_txn_id",
        build=lambda amount, kind, txn: DepositLineSnap(
            amount_cents=amount, linked_txn_type=kind, linked_txn_id=txn
        ),
    )
    last_ok, last_failed = await _sync_health(session, business_id)
    return BusinessSnapshot(
        business_name=business.name,
        home_currency=home,
        # Balances are those of the last sync: that is when this picture of the business was taken.
        snapshot_at=last_ok or utcnow(),
        accounts=await _load(session, Account, business_id, AccountSnap, home),
        terms=await _load(session, Term, business_id, TermSnap, home),
        vendors=await _load(session, Vendor, business_id, VendorSnap, home),
        customers=await _load(session, Customer, business_id, CustomerSnap, home),
        bills=await _load(session, Bill, business_id, BillSnap, home, children={"lines": bill_lines}),
        invoices=await _load(session, Invoice, business_id, InvoiceSnap, home),
        payments=await _load(
            session, Payment, business_id, PaymentSnap, home, children={"linked_invoice_ids": invoice_links}
        ),
        purchases=await _load(
            session, Purchase, business_id, PurchaseSnap, home, children={"lines": purchase_lines}
        ),
        deposits=await _load(
            session, Deposit, business_id, DepositSnap, home, children={"lines": deposit_lines}
        ),
        sales_receipts=await _load(session, SalesReceipt, business_id, SalesReceiptSnap, home),
        vendor_credits=await _load(session, VendorCredit, business_id, VendorCreditSnap, home),
        credit_memos=await _load(session, CreditMemo, business_id, CreditMemoSnap, home),
        bill_payments=await _load(
            session, BillPayment, business_id, BillPaymentSnap, home, children={"linked_bill_ids": bill_links}
        ),
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
