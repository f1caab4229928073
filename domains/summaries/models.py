"""Domain (summaries): per-business summary rows, weekly hygiene marks, digest sends and digest recipients.

Business rows carry business_id and every query is scoped by it; firm digests carry firm_id instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domains.core.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow


class BusinessSummary(Base):
    """The figures the client list and the firm digest show for one business, as of its last refresh.

    Refreshed after every sync run and after decisions, so a list of 500 clients reads 500 rows instead of
    running 500 forecasts. Figures are NULL when the last refresh could not compute them (`error` says why).
    """

    __tablename__ = "business_summaries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), unique=True)
    # The business-local date the figures are for, and when they were computed.
    as_of: Mapped[dt.date] = mapped_column(Date)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    currency: Mapped[str] = mapped_column(String(3))
    cash_now_cents: Mapped[int | None] = mapped_column(BigInteger)
    cash_net_of_cards_cents: Mapped[int | None] = mapped_column(BigInteger)
    runway_days: Mapped[int | None] = mapped_column(Integer)
    # Weeks as the calculator rounds them ("4.3"), kept as text so no float ever touches them.
    runway_weeks: Mapped[str | None] = mapped_column(String(16))
    cash_zero_date: Mapped[dt.date | None] = mapped_column(Date)
    # red | amber | green, or unknown when the figures could not be computed
    status: Mapped[str] = mapped_column(String(10))
    not_burning: Mapped[bool] = mapped_column(default=False)
    lowest_cash_cents: Mapped[int | None] = mapped_column(BigInteger)
    lowest_cash_week: Mapped[int | None] = mapped_column(Integer)
    lowest_cash_week_start: Mapped[dt.date | None] = mapped_column(Date)
    bills_due_count: Mapped[int] = mapped_column(Integer, default=0)
    bills_due_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    overdue_invoices_count: Mapped[int] = mapped_column(Integer, default=0)
    overdue_invoices_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    hygiene_score: Mapped[int | None] = mapped_column(Integer)
    issues_high: Mapped[int] = mapped_column(Integer, default=0)
    issues_medium: Mapped[int] = mapped_column(Integer, default=0)
    issues_low: Mapped[int] = mapped_column(Integer, default=0)
    decisions_waiting: Mapped[int] = mapped_column(Integer, default=0)
    # The first few waiting decisions, for the firm digest: [{entity_type, qbo_id, party, amount_cents, ...}]
    top_decisions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # What the dashboard shows besides the figures above, so a view reads this row and its weeks instead
    # of running the calculators. NULL in rows stored before these columns existed (`data_key` NULL too,
    # so such a row is recomputed before the dashboard uses it).
    data_key: Mapped[str | None] = mapped_column(String(200))
    snapshot_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    has_bank_account: Mapped[bool | None] = mapped_column()
    card_balance_cents: Mapped[int | None] = mapped_column(BigInteger)
    lowest_daily_cents: Mapped[int | None] = mapped_column(BigInteger)
    lowest_daily_date: Mapped[dt.date | None] = mapped_column(Date)
    net_burn_4w_cents: Mapped[int | None] = mapped_column(BigInteger)
    net_burn_13w_cents: Mapped[int | None] = mapped_column(BigInteger)
    # AP and AR aging buckets (home-currency cents).
    ap_current_cents: Mapped[int | None] = mapped_column(BigInteger)
    ap_days_1_30_cents: Mapped[int | None] = mapped_column(BigInteger)
    ap_days_31_60_cents: Mapped[int | None] = mapped_column(BigInteger)
    ap_days_61_90_cents: Mapped[int | None] = mapped_column(BigInteger)
    ap_days_91_plus_cents: Mapped[int | None] = mapped_column(BigInteger)
    ap_unapplied_cents: Mapped[int | None] = mapped_column(BigInteger)
    ap_open_cents: Mapped[int | None] = mapped_column(BigInteger)
    ap_net_cents: Mapped[int | None] = mapped_column(BigInteger)
    ar_current_cents: Mapped[int | None] = mapped_column(BigInteger)
    ar_days_1_30_cents: Mapped[int | None] = mapped_column(BigInteger)
    ar_days_31_60_cents: Mapped[int | None] = mapped_column(BigInteger)
    ar_days_61_90_cents: Mapped[int | None] = mapped_column(BigInteger)
    ar_days_91_plus_cents: Mapped[int | None] = mapped_column(BigInteger)
    ar_unapplied_cents: Mapped[int | None] = mapped_column(BigInteger)
    ar_open_cents: Mapped[int | None] = mapped_column(BigInteger)
    ar_net_cents: Mapped[int | None] = mapped_column(BigInteger)


class SummaryWeek(Base):
    """One week of the 13-week grid as of the business's summary row (replaced with it)."""

    __tablename__ = "business_summary_weeks"
    __table_args__ = (UniqueConstraint("business_id", "week"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    week: Mapped[int] = mapped_column(Integer)
    start: Mapped[dt.date] = mapped_column(Date)
    opening_cents: Mapped[int] = mapped_column(BigInteger)
    receipts_invoices_cents: Mapped[int] = mapped_column(BigInteger)
    receipts_baseline_cents: Mapped[int] = mapped_column(BigInteger)
    disbursements_bills_cents: Mapped[int] = mapped_column(BigInteger)
    disbursements_baseline_cents: Mapped[int] = mapped_column(BigInteger)
    net_change_cents: Mapped[int] = mapped_column(BigInteger)
    ending_cents: Mapped[int] = mapped_column(BigInteger)
    below_minimum: Mapped[bool] = mapped_column(default=False)


class HygieneWeekMark(Base):
    """The hygiene issues open at the latest refresh within one week (Monday `week_start`).

    The digest compares this week's issues with last week's mark to say what opened and what closed.
    """

    __tablename__ = "digest_hygiene_marks"
    __table_args__ = (UniqueConstraint("business_id", "week_start"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    week_start: Mapped[dt.date] = mapped_column(Date)
    # Sorted "rule|entity_type|qbo_id" keys.
    open_keys: Mapped[list[str]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DigestSend(Base):
    """One weekly digest e-mail for one business or one firm; at most one per ISO week (unique).

    The row is claimed (status `sending`) before the message goes to the SMTP server, so two runs of
    `runway digest send` — even at the same moment — can never both send the same week's digest.
    """

    __tablename__ = "digest_sends"
    __table_args__ = (
        CheckConstraint("(business_id IS NULL) <> (firm_id IS NULL)", name="business_xor_firm"),
        UniqueConstraint("business_id", "week_start"),
        UniqueConstraint("firm_id", "week_start"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int | None] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"))
    # Monday of the ISO week the digest is for, and its label ("2026-W48").
    week_start: Mapped[dt.date] = mapped_column(Date)
    iso_week: Mapped[str] = mapped_column(String(10))
    # sending | sent | failed
    status: Mapped[str] = mapped_column(String(10), default="sending")
    recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)
    subject: Mapped[str] = mapped_column(String(300), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DigestRecipient(Base):
    """An address that receives one business's or one firm's weekly digest.

    Without any row, a business's digest goes to its owners and a firm's to its admins and advisors.
    """

    __tablename__ = "digest_recipients"
    __table_args__ = (
        CheckConstraint("(business_id IS NULL) <> (firm_id IS NULL)", name="business_xor_firm"),
        UniqueConstraint("business_id", "email"),
        UniqueConstraint("firm_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int | None] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    added_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
