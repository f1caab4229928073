"""Domain (QBO): tables for connections (encrypted tokens), OAuth state, sync runs and cursors,
quarantined entities and the idempotent write log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from domains.core.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow


class QboConnection(Base):
    """A business's link to its QBO company: tokens (encrypted at rest) and whether they still work."""

    __tablename__ = "qbo_connections"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), unique=True)
    realm_id: Mapped[str] = mapped_column(String(32))
    # connected | reconnect_needed | disconnected
    status: Mapped[str] = mapped_column(String(20), default="connected")
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    connected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OAuthState(Base):
    """A single-use `state` for one authorization-code flow, bound to who started it."""

    __tablename__ = "qbo_oauth_states"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Reconnecting an existing business, or adding a new one (to a firm, or owned directly).
    business_id: Mapped[int | None] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SyncRun(Base):
    """One sync of one business: the job record, its lease, its progress per entity and its outcome.

    At most one run per business is pending or running (a partial unique index), so a webhook storm or
    two workers can never start a second copy; a dead worker's lease expires and another resumes it.
    """

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index(
            "uq_sync_runs_one_active_per_business",
            "business_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'running')"),
            postgresql_where=text("status IN ('pending', 'running')"),
        ),
        Index("ix_sync_runs_status_run_after", "status", "run_after"),
        Index("ix_sync_runs_business_created", "business_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    # full | incremental
    kind: Mapped[str] = mapped_column(String(20))
    # manual | schedule | webhook | initial | cli
    trigger: Mapped[str] = mapped_column(String(20))
    # pending | running | succeeded | failed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    progress: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    entities_done: Mapped[int] = mapped_column(Integer, default=0)
    entities_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SyncCursor(Base):
    """Where incremental sync of one entity resumes: the QBO server time of the last complete pull."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("business_id", "entity"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(40))
    changed_since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class QuarantinedEntity(Base):
    """A QBO object the sync could not map, kept with its reason so it shows up as a sync issue."""

    __tablename__ = "qbo_quarantine"
    __table_args__ = (UniqueConstraint("business_id", "entity", "qbo_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    qbo_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[Any] = mapped_column(JSONType)
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class QboWrite(Base):
    """Every write Runway sends to QBO, recorded before the call with the requestid it will use.

    A retry (after a timeout, a crash, a 5xx) reuses the row's request_id, so QBO replays its first
    answer instead of creating a second object.
    """

    __tablename__ = "qbo_writes"
    __table_args__ = (
        UniqueConstraint("business_id", "request_id"),
        Index("ix_qbo_writes_business_status", "business_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(40))
    # create | update | delete | send
    operation: Mapped[str] = mapped_column(String(20))
    target_qbo_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # pending | succeeded | failed | conflict
    status: Mapped[str] = mapped_column(String(20), default="pending")
    result_qbo_id: Mapped[str | None] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
