"""Domain (decisions): tables. Each table has business_id and every query is scoped by it.

A decision is one person's choice about one bill or invoice of the Decision Console queue (pay now,
schedule, delay, chase, skip). Its lifecycle status is proposed → approved → executing → done | failed |
conflict (or undone). Several decisions may exist for one item over time; exactly one of them is the
item's *current* decision (`is_current`, a partial unique index), and the one it replaced is kept in
`replaces_id` so "undo" can bring it back. `version` is bumped on every change: a write that names a
version other than the stored one is stale and is refused (optimistic concurrency across tabs and app
instances).

A finalize batch executes approved decisions one item at a time; each item's outcome is a row of
`decision_finalize_items`, claimed with a lease so that a batch interrupted at any point (a timeout, a
killed process) is resumed, never run twice: every QBO write carries the decision's idempotency key,
stored with the decision long before any QBO call, as its `requestid`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from domains.core.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow

# Statuses of a decision. `undone` decisions are kept for the log, never current.
PROPOSED = "proposed"
APPROVED = "approved"
EXECUTING = "executing"
DONE = "done"
FAILED = "failed"
CONFLICT = "conflict"
UNDONE = "undone"
STATUSES = (PROPOSED, APPROVED, EXECUTING, DONE, FAILED, CONFLICT, UNDONE)

# Outcomes of one item of a finalize batch.
ITEM_PENDING = "pending"
ITEM_RUNNING = "running"


class Decision(Base):
    """One decision about one bill or invoice, with the runway deltas it showed when it was made."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index(
            "uq_decisions_one_current_per_item",
            "business_id",
            "entity_type",
            "qbo_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
        # The lookup of an item's decisions: SQLite does not match `is_current IS 1` to the partial index.
        Index("ix_decisions_item", "business_id", "entity_type", "qbo_id"),
        Index("ix_decisions_business_status", "business_id", "status"),
        Index("ix_decisions_business_decided_by", "business_id", "decided_by"),
        UniqueConstraint("business_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    # bill | invoice, and its QBO Id
    entity_type: Mapped[str] = mapped_column(String(16))
    qbo_id: Mapped[str] = mapped_column(String(32))
    # Vendor or customer, and the open balance (home-currency cents) when the decision was made.
    party_qbo_id: Mapped[str | None] = mapped_column(String(32))
    party_name: Mapped[str | None] = mapped_column(String(500))
    doc_number: Mapped[str | None] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # pay_now | schedule | delay | chase | skip
    verb: Mapped[str] = mapped_column(String(16))
    # Verb-specific choices: bank_account_qbo_id (record a BillPayment), note (PrivateNote), preset.
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # The date the forecast uses for a bill (pay now: the day it was decided); None for chase and skip.
    planned_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    is_current: Mapped[bool] = mapped_column(default=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    # Sent as QBO's requestid by finalize; unique per business, stored when the decision is made.
    idempotency_key: Mapped[str] = mapped_column(String(50))
    # The three deltas shown when the decision was made (PRODUCT §3), on top of the other decisions.
    delta_runway_days: Mapped[int | None] = mapped_column(Integer)
    delta_direction: Mapped[str] = mapped_column(String(10))
    new_cash_zero_date: Mapped[dt.date | None] = mapped_column(Date)
    new_lowest_cash_cents: Mapped[int] = mapped_column(BigInteger)
    days_past_terms: Mapped[int | None] = mapped_column(Integer)
    # Business-local date the decision was made on.
    decided_on: Mapped[dt.date] = mapped_column(Date)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("decision_finalize_batches.id", ondelete="SET NULL")
    )
    executed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Business-local date the decision was finalized on (done items leave that week's queue).
    finalized_on: Mapped[dt.date | None] = mapped_column(Date)
    # What finalize did, or why it failed; the QBO object it created; QBO's object on a conflict.
    result_message: Mapped[str | None] = mapped_column(Text)
    result_qbo_id: Mapped[str | None] = mapped_column(String(64))
    qbo_current: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FinalizeBatch(Base):
    """One press of "finalize": the approved decisions it took, executed one item at a time."""

    __tablename__ = "decision_finalize_batches"
    __table_args__ = (
        # One running batch per business: a second "finalize" joins it instead of racing it.
        Index(
            "uq_decision_finalize_batches_one_running",
            "business_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    # running | finished
    status: Mapped[str] = mapped_column(String(16), default="running")
    # Business-local date of the batch: the TxnDate of the BillPayments it records.
    as_of: Mapped[dt.date] = mapped_column(Date)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class FinalizeItem(Base):
    """The result of one decision within a batch: pending → running (leased) → done | failed | conflict."""

    __tablename__ = "decision_finalize_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "decision_id"),
        Index("ix_decision_finalize_items_business_outcome", "business_id", "outcome"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("decision_finalize_batches.id", ondelete="CASCADE"), index=True
    )
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16), default=ITEM_PENDING)
    # A running item whose lease has expired belongs to a finalize that died; the next run takes it over.
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    qbo_result_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CriticalVendor(Base):
    """A vendor the firm flagged critical for this business: its bills lead the queue."""

    __tablename__ = "decision_critical_vendors"
    __table_args__ = (UniqueConstraint("business_id", "vendor_qbo_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    vendor_qbo_id: Mapped[str] = mapped_column(String(32))
    flagged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsoleSettings(Base):
    """Per-business console settings: the weekday of the pay run ("delay to the next pay run")."""

    __tablename__ = "decision_console_settings"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), unique=True)
    # Monday = 0 … Sunday = 6
    pay_run_weekday: Mapped[int] = mapped_column(Integer, default=4)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
