"""Domain (hygiene): tables. Each table has business_id and every query is scoped by it.

An issue is identified inside a business by its key (rule, entity_type, qbo_id). The issues themselves are
computed from the synced books; these tables hold what people decided about them and what the tray has
seen: dismissals (remembered by fingerprint), snoozes (until a date), the register of issues seen with
their resolutions and everything a row shows (so the firm tray reads it instead of recomputing every
client's books), the log of fixes written to QuickBooks, and a per-business marker that changes whenever
any of this does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domains.core.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow


def _business_fk() -> Mapped[int]:
    return mapped_column(BigIntPK, ForeignKey("businesses.id", ondelete="CASCADE"))


def _user_fk() -> Mapped[int | None]:
    return mapped_column(BigIntPK, ForeignKey("users.id", ondelete="SET NULL"))


class HygieneDismissal(Base):
    """A "not an issue" decision, kept while the fingerprint (rule, entity, relevant fields) holds."""

    __tablename__ = "hygiene_dismissals"
    __table_args__ = (UniqueConstraint("business_id", "rule", "entity_type", "qbo_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = _business_fk()
    rule: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(16))
    qbo_id: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = _user_fk()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class HygieneSnooze(Base):
    """Hides the issue until a business-local date; on that date it is open again by itself."""

    __tablename__ = "hygiene_snoozes"
    __table_args__ = (UniqueConstraint("business_id", "rule", "entity_type", "qbo_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = _business_fk()
    rule: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(16))
    qbo_id: Mapped[str] = mapped_column(String(64))
    until: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int | None] = _user_fk()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class HygieneIssueRecord(Base):
    """The register: every issue the tray has seen, and how it left (fixed here, or cleared in QBO).

    An open entry carries the issue as last detected (effect, fix, its parameters and fingerprint fields),
    the open balance of the bill or invoice it is on (for the score), and ``display``: the row's entity
    label, runway delta and QuickBooks link targets, stored the first time the row is shown and cleared
    whenever the books or the date it was worked out on change.

    ``fix_sync_run_id`` is the newest sync run of the business when a fix was written: a fix whose effect
    reaches our copy of the books only through the next sync (a bill payment closing a bill) keeps the
    issue hidden until a run newer than that one has finished.
    """

    __tablename__ = "hygiene_issues"
    __table_args__ = (
        UniqueConstraint("business_id", "rule", "entity_type", "qbo_id"),
        Index("ix_hygiene_issues_business_status", "business_id", "status"),
        # The entries about one object (a triage action's share of the summary).
        Index("ix_hygiene_issues_business_entity", "business_id", "entity_type", "qbo_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = _business_fk()
    rule: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(16))
    qbo_id: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(8))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # open | resolved
    status: Mapped[str] = mapped_column(String(16), default="open")
    # fixed (through the tray) | cleared_in_qbo (a sync brought data that no longer triggers the rule)
    resolution: Mapped[str | None] = mapped_column(String(16))
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_user_id: Mapped[int | None] = _user_fk()
    fix_sync_run_id: Mapped[int | None] = mapped_column(BigInteger)
    forecast_effect: Mapped[str | None] = mapped_column(Text)
    fix: Mapped[str | None] = mapped_column(String(32))
    fix_params: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    fingerprint_fields: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    item_balance_cents: Mapped[int | None] = mapped_column(BigInteger)
    display: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class HygieneFix(Base):
    """A fix written to QuickBooks from the tray, with the fields before and after, for undo and history."""

    __tablename__ = "hygiene_fixes"
    __table_args__ = (Index("ix_hygiene_fixes_business_created", "business_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = _business_fk()
    rule: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(16))
    qbo_id: Mapped[str] = mapped_column(String(64))
    # set_due_date | set_vendor_terms | pick_expense_account | apply_payment | record_payment |
    # delete_duplicate | chase
    fix: Mapped[str] = mapped_column(String(32))
    # The QBO object written (Bill, Vendor, BillPayment, ...) and its Id.
    qbo_entity: Mapped[str] = mapped_column(String(40))
    qbo_target_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    summary: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(50))
    revertible: Mapped[bool] = mapped_column(default=False)
    user_id: Mapped[int | None] = _user_fk()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reverted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reverted_by_user_id: Mapped[int | None] = _user_fk()


class HygieneState(Base):
    """One row per business: which sync run the register last saw (and on which local date, at what time,
    with what open bill and invoice balance), a version bumped on every change, and the last summary
    computed (open issues by severity, score, cleared this week).

    The tray polls (sync run, version) to know, with two indexed reads, whether it must refresh. The firm
    tray adds up the stored summaries after an action instead of recomputing every client's books.
    """

    __tablename__ = "hygiene_state"
    __table_args__ = (UniqueConstraint("business_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = _business_fk()
    evaluated_run_id: Mapped[int | None] = mapped_column(BigInteger)
    evaluated_on: Mapped[dt.date | None] = mapped_column(Date)
    evaluated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    open_cents: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=0)
    open_high: Mapped[int] = mapped_column(Integer, default=0)
    open_medium: Mapped[int] = mapped_column(Integer, default=0)
    open_low: Mapped[int] = mapped_column(Integer, default=0)
    cleared_week: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int | None] = mapped_column(Integer)
    summary_as_of: Mapped[dt.date | None] = mapped_column(Date)
    # The open balance of bills and invoices with a scored issue, behind `score`; and the `version` the
    # summary was worked out at. With both, a triage action adjusts the summary by the one entity it
    # touched instead of adding up the whole register again.
    flagged_cents: Mapped[int | None] = mapped_column(BigInteger)
    summary_version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
