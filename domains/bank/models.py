"""Domain (bank): tables of synced QBO accounts, purchases and deposits, amounts in integer cents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domains.synced import SyncedEntity, SyncedLine, SyncedTransaction, business_index, parent_fk


class Account(SyncedEntity):
    """A chart-of-accounts entry; Bank accounts make up cash now, Credit Card ones are shown beside it."""

    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(500))
    fully_qualified_name: Mapped[str | None] = mapped_column(Text)
    account_type: Mapped[str] = mapped_column(String(64))
    account_sub_type: Mapped[str | None] = mapped_column(String(64))
    classification: Mapped[str | None] = mapped_column(String(32))
    # As QBO reports it: liabilities can come back negative, so readers normalise by classification.
    current_balance_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    parent_qbo_id: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (business_index("accounts", "type", "account_type"),)


class PurchaseLine(SyncedLine):
    """An expense line of a purchase: account-based (AccountRef) or item-based (ItemRef)."""

    __tablename__ = "purchase_lines"

    purchase_id: Mapped[int] = parent_fk("purchases")
    detail_type: Mapped[str | None] = mapped_column(String(64))
    account_qbo_id: Mapped[str | None] = mapped_column(String(32))
    account_name: Mapped[str | None] = mapped_column(String(500))
    item_qbo_id: Mapped[str | None] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)


class Purchase(SyncedTransaction):
    """Money paid straight from a bank or card account: expense, check or card charge (a refund if credit)."""

    __tablename__ = "purchases"

    payment_type: Mapped[str] = mapped_column(String(32))
    # The paying account: only purchases paid from a Bank account count in the baseline.
    account_qbo_id: Mapped[str] = mapped_column(String(32))
    account_name: Mapped[str | None] = mapped_column(String(500))
    entity_qbo_id: Mapped[str | None] = mapped_column(String(32))
    entity_type: Mapped[str | None] = mapped_column(String(32))
    entity_name: Mapped[str | None] = mapped_column(String(500))
    credit: Mapped[bool] = mapped_column(default=False)

    lines: Mapped[list[PurchaseLine]] = relationship(
        order_by=PurchaseLine.position, lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (
            business_index("purchases", "txn_date", "txn_date"),
            business_index("purchases", "entity", "entity_qbo_id"),
        )


class DepositLine(SyncedLine):
    """A deposit line: linked to a Payment/SalesReceipt (LinkedTxn), or a direct amount from an account."""

    __tablename__ = "deposit_lines"

    deposit_id: Mapped[int] = parent_fk("deposits")
    detail_type: Mapped[str | None] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    linked_txn_id: Mapped[str | None] = mapped_column(String(32))
    linked_txn_type: Mapped[str | None] = mapped_column(String(32))
    linked_txn_line_id: Mapped[str | None] = mapped_column(String(32))
    account_qbo_id: Mapped[str | None] = mapped_column(String(32))
    entity_qbo_id: Mapped[str | None] = mapped_column(String(32))
    entity_type: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (business_index("deposit_lines", "linked_txn", "linked_txn_type", "linked_txn_id"),)


class Deposit(SyncedTransaction):
    """Money deposited into a Bank (or Other Current Asset) account, e.g. out of Undeposited Funds."""

    __tablename__ = "deposits"

    deposit_to_account_qbo_id: Mapped[str] = mapped_column(String(32))
    # Kept for completeness; the runway ignores CashBack.
    cash_back_cents: Mapped[int | None] = mapped_column(BigInteger)

    lines: Mapped[list[DepositLine]] = relationship(
        order_by=DepositLine.position, lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        return (business_index("deposits", "txn_date", "txn_date"),)
