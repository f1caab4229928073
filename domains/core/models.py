"""Domain core tables: firms, businesses, users, memberships, audit log, web sessions, data versions."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from domains.core.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow


class FirmRole(enum.StrEnum):
    ADMIN = "admin"
    ADVISOR = "advisor"
    BOOKKEEPER = "bookkeeper"
    VIEWER = "viewer"


class BusinessRole(enum.StrEnum):
    OWNER = "owner"
    VIEWER = "viewer"


class Firm(Base):
    """An accounting practice with many client businesses."""

    __tablename__ = "firms"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Business(Base):
    """One QBO company (realm). Every row of business data points here through business_id."""

    __tablename__ = "businesses"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id", ondelete="SET NULL"), index=True)
    realm_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    home_currency: Mapped[str] = mapped_column(String(3), default="USD")
    # IANA zone of the company: "today" for its calculations is computed here.
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BusinessDataVersion(Base):
    """Stamps that change whenever a business's data changes: its synced books, or its decision queue.

    Screens cache what they derive from that data under these stamps and read them on every request, so
    every app instance sharing the database sees a change at once. Fresh random stamps, not counters, so
    that a stamp is never reused, not even by another database.
    """

    __tablename__ = "business_data_versions"

    business_id: Mapped[int] = mapped_column(
        ForeignKey("businesses.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    # Replaced by each finished sync and each QBO write of ours.
    stamp: Mapped[str] = mapped_column(String(32))
    # Replaced by each change to the decision queue: decisions, critical vendors, pay run, finalize.
    console_stamp: Mapped[str | None] = mapped_column(String(32))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """A person who signs in. Access to businesses comes only through memberships."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Membership(Base):
    """A user's role in either a firm (all its client businesses) or one business, never both."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("(firm_id IS NULL) <> (business_id IS NULL)", name="firm_xor_business"),
        CheckConstraint(
            "(firm_id IS NULL) OR role IN ('admin', 'advisor', 'bookkeeper', 'viewer')", name="firm_role"
        ),
        CheckConstraint("(business_id IS NULL) OR role IN ('owner', 'viewer')", name="business_role"),
        UniqueConstraint("user_id", "firm_id", "business_id"),
        Index("ix_memberships_user_firm", "user_id", "firm_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    business_id: Mapped[int | None] = mapped_column(
        ForeignKey("businesses.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditLog(Base):
    """Who changed what, with the state before and after. Append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_business_created", "business_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int | None] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str | None] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    request_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebSession(Base):
    """Server-side web session data, so every app instance sharing the database sees the same sessions."""

    __tablename__ = "web_sessions"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
