"""Domain (AP): tables of synced QBO terms, vendors, bills, bill payments and vendor credits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domains.synced import SyncedEntity, SyncedLine, SyncedTransaction, business_index, parent_fk


class Term(SyncedEntity):
    """A payment term, shared by vendors (TermRef), customers, bills and invoices (SalesTermRef)."""

    __tablename__ = "terms"

    name: Mapped[str] = mapped_column(String(100))
    # STANDARD (DueDays) or DATE_DRIVEN (day of month); a term without due_days counts as no term.
    type: Mapped[str | None] = mapped_column(String(32))
    due_days: Mapped[int | None]
    # Decimal text, e.g. "2" for 2 %; SQLite has no exact decimal type.
    discount_percent: Mapped[str | None] = mapped_column(String(32))
    discount_days: Mapped[int | None]
    day_of_month_due: Mapped[int | None]
    due_next_month_days: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)


class Vendor(SyncedEntity):
    """A vendor, active or not: inactive vendors are synced so their bills are not orphans."""

    __tablename__ = "vendors"

    display_name: Mapped[str] = mapped_column(String(500))
    company_name: Mapped[str | None] = mapped_column(String(500))
    term_qbo_id: Mapped[str | None] = mapped_column(String(32))
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    email: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)


class BillLine(SyncedLine):
    """An expense line of a bill: account-based (AccountRef) or item-based (ItemRef)."""

    __tablename__ = "bill_lines"

    bill_id: Mapped[int] = parent_fk("bills")
    detail_type: Mapped[str | None] = mapped_column(String(64))
    account_qbo_id: Mapped[str | None] = mapped_column(String(32))
    account_name: Mapped[str | None] = mapped_column(String(500))
    item_qbo_id: Mapped[str | None] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)


class Bill(SyncedTransaction):
    """A vendor bill; open while balance_cents > 0."""

    __tablename__ = "bills"

    vendor_qbo_id: Mapped[str] = mapped_column(String(32))
    vendor_name: Mapped[str | None] = mapped_column(String(500))
    # QBO's own DueDate only; the effective due date (terms, 30-day default) is a calculator's job.
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    home_balance_cents: Mapped[int | None] = mapped_column(BigInteger)
    sales_term_qbo_id: Mapped[str | None] = mapped_column(String(32))
    # None when QBO sent no TxnTaxDetail.TotalTax: the line-sum check treats absent and 0 alike.
    total_tax_cents: Mapped[int | None] = mapped_column(BigInteger)
    ap_account_qbo_id: Mapped[str | None] = mapped_column(String(32))

    lines: Mapped[list[BillLine]] = relationship(
        order_by=BillLine.position, lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (
            business_index("bills", "open", "balance_cents"),
            business_index("bills", "vendor", "vendor_qbo_id"),
        )


class BillPaymentLine(SyncedLine):
    """The part of a bill payment applied to one Bill, VendorCredit or JournalEntry."""

    __tablename__ = "bill_payment_lines"

    bill_payment_id: Mapped[int] = parent_fk("bill_payments")
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    linked_txn_id: Mapped[str | None] = mapped_column(String(32))
    linked_txn_type: Mapped[str | None] = mapped_column(String(32))

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (business_index("bill_payment_lines", "linked_txn", "linked_txn_type", "linked_txn_id"),)


class BillPayment(SyncedTransaction):
    """A payment of one or more bills of a vendor, by check (bank account) or credit card."""

    __tablename__ = "bill_payments"

    vendor_qbo_id: Mapped[str] = mapped_column(String(32))
    vendor_name: Mapped[str | None] = mapped_column(String(500))
    pay_type: Mapped[str] = mapped_column(String(16))
    # CheckPayment.BankAccountRef or CreditCardPayment.CCAccountRef, whichever PayType uses.
    pay_from_account_qbo_id: Mapped[str | None] = mapped_column(String(32))
    ap_account_qbo_id: Mapped[str | None] = mapped_column(String(32))

    lines: Mapped[list[BillPaymentLine]] = relationship(
        order_by=BillPaymentLine.position, lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (business_index("bill_payments", "vendor", "vendor_qbo_id"),)


class VendorCredit(SyncedTransaction):
    """A credit from a vendor; its open balance is shown as unapplied in AP aging."""

    __tablename__ = "vendor_credits"

    vendor_qbo_id: Mapped[str] = mapped_column(String(32))
    vendor_name: Mapped[str | None] = mapped_column(String(500))
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    home_balance_cents: Mapped[int | None] = mapped_column(BigInteger)
    ap_account_qbo_id: Mapped[str | None] = mapped_column(String(32))

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (business_index("vendor_credits", "open", "balance_cents"),)
