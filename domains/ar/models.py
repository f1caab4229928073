"""Domain (AR): tables of synced QBO customers, invoices, payments, sales receipts and credit memos."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domains.synced import SyncedEntity, SyncedLine, SyncedTransaction, business_index, parent_fk


class Customer(SyncedEntity):
    """A customer or sub-customer (job); inactive ones are synced too, so their invoices are not orphans."""

    __tablename__ = "customers"

    display_name: Mapped[str] = mapped_column(String(500))
    company_name: Mapped[str | None] = mapped_column(String(500))
    sales_term_qbo_id: Mapped[str | None] = mapped_column(String(32))
    parent_qbo_id: Mapped[str | None] = mapped_column(String(32))
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    email: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)


class InvoiceLine(SyncedLine):
    """An invoice line (sales item, sub-total, discount...), kept for display and totals checks."""

    __tablename__ = "invoice_lines"

    invoice_id: Mapped[int] = parent_fk("invoices")
    detail_type: Mapped[str | None] = mapped_column(String(64))
    item_qbo_id: Mapped[str | None] = mapped_column(String(32))
    item_name: Mapped[str | None] = mapped_column(String(500))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)


class Invoice(SyncedTransaction):
    """A customer invoice; open while balance_cents > 0."""

    __tablename__ = "invoices"

    customer_qbo_id: Mapped[str] = mapped_column(String(32))
    customer_name: Mapped[str | None] = mapped_column(String(500))
    # QBO's own DueDate only; the effective due date (terms, 30-day default) is a calculator's job.
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    home_balance_cents: Mapped[int | None] = mapped_column(BigInteger)
    sales_term_qbo_id: Mapped[str | None] = mapped_column(String(32))
    total_tax_cents: Mapped[int | None] = mapped_column(BigInteger)
    email_status: Mapped[str | None] = mapped_column(String(16))
    bill_email: Mapped[str | None] = mapped_column(String(500))

    lines: Mapped[list[InvoiceLine]] = relationship(
        order_by=InvoiceLine.position, lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (
            business_index("invoices", "open", "balance_cents"),
            business_index("invoices", "customer", "customer_qbo_id"),
        )


class PaymentLine(SyncedLine):
    """The part of a customer payment applied to one Invoice or CreditMemo."""

    __tablename__ = "payment_lines"

    payment_id: Mapped[int] = parent_fk("payments")
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    linked_txn_id: Mapped[str | None] = mapped_column(String(32))
    linked_txn_type: Mapped[str | None] = mapped_column(String(32))

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (business_index("payment_lines", "linked_txn", "linked_txn_type", "linked_txn_id"),)


class Payment(SyncedTransaction):
    """A customer payment; whatever its lines do not apply is unapplied_cents (credit on account)."""

    __tablename__ = "payments"

    customer_qbo_id: Mapped[str] = mapped_column(String(32))
    customer_name: Mapped[str | None] = mapped_column(String(500))
    unapplied_cents: Mapped[int] = mapped_column(BigInteger)
    deposit_to_account_qbo_id: Mapped[str | None] = mapped_column(String(32))
    payment_ref_num: Mapped[str | None] = mapped_column(String(64))

    lines: Mapped[list[PaymentLine]] = relationship(
        order_by=PaymentLine.position, lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (
            business_index("payments", "customer", "customer_qbo_id"),
            business_index("payments", "deposit_to", "deposit_to_account_qbo_id"),
        )


class SalesReceipt(SyncedTransaction):
    """A sale paid on the spot, deposited to a bank account or to Undeposited Funds."""

    __tablename__ = "sales_receipts"

    customer_qbo_id: Mapped[str | None] = mapped_column(String(32))
    customer_name: Mapped[str | None] = mapped_column(String(500))
    deposit_to_account_qbo_id: Mapped[str | None] = mapped_column(String(32))

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (
            business_index("sales_receipts", "txn_date", "txn_date"),
            business_index("sales_receipts", "deposit_to", "deposit_to_account_qbo_id"),
        )


class CreditMemo(SyncedTransaction):
    """A credit to a customer; its open balance is shown as unapplied in AR aging."""

    __tablename__ = "credit_memos"

    customer_qbo_id: Mapped[str] = mapped_column(String(32))
    customer_name: Mapped[str | None] = mapped_column(String(500))
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    home_balance_cents: Mapped[int | None] = mapped_column(BigInteger)
    remaining_credit_cents: Mapped[int | None] = mapped_column(BigInteger)

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (business_index("credit_memos", "open", "balance_cents"),)
