"""Domain (QBO): CRUD primitives for connections, OAuth states, sync runs, cursors, quarantine and writes.

Every function that touches business data takes business_id. Sync runs double as the job queue:
workers claim them with a compare-and-set UPDATE (portable to SQLite and PostgreSQL) and a lease.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domains.core.data_versions import bump_data_version
from domains.core.db import dialect_insert, dialect_of, utcnow
from domains.core.models import Business
from domains.qbo.models import OAuthState, QboConnection, QboWrite, QuarantinedEntity, SyncCursor, SyncRun
from domains.synced import json_safe

ACTIVE = ("pending", "running")


# --- connections -------------------------------------------------------------------------------


async def get_connection(session: AsyncSession, business_id: int) -> QboConnection | None:
    return await session.scalar(select(QboConnection).where(QboConnection.business_id == business_id))


async def has_connection(session: AsyncSession, business_id: int) -> bool:
    """Whether the business has a QuickBooks connection (of any status), without loading its tokens."""
    found = await session.scalar(_connection_of(), {"business_id": business_id})
    return found is not None


@functools.cache
def _connection_of() -> Any:
    """Asked on every console request: built once, on the table (no ORM loading)."""
    table = cast(Any, QboConnection.__table__)
    return select(table.c.id).where(table.c.business_id == bindparam("business_id")).limit(1)


async def get_connection_by_realm(session: AsyncSession, realm_id: str) -> QboConnection | None:
    return await session.scalar(select(QboConnection).where(QboConnection.realm_id == realm_id))


async def business_ids_for_realm(session: AsyncSession, realm_id: str) -> list[int]:
    rows = await session.scalars(
        select(QboConnection.business_id).where(
            QboConnection.realm_id == realm_id, QboConnection.status != "disconnected"
        )
    )
    return list(rows)


async def save_connection(
    session: AsyncSession,
    business_id: int,
    *,
    realm_id: str,
    access_token_enc: str,
    refresh_token_enc: str,
    access_expires_at: dt.datetime,
    refresh_expires_at: dt.datetime | None,
) -> QboConnection:
    connection = await get_connection(session, business_id)
    if connection is None:
        connection = QboConnection(business_id=business_id, realm_id=realm_id)
        session.add(connection)
    connection.realm_id = realm_id
    connection.access_token_enc = access_token_enc
    connection.refresh_token_enc = refresh_token_enc
    connection.access_expires_at = access_expires_at
    connection.refresh_expires_at = refresh_expires_at
    connection.status = "connected"
    connection.last_error = None
    connection.updated_at = utcnow()
    business = await session.get(Business, business_id)
    if business is not None:
        business.realm_id = realm_id
    await session.flush()
    return connection


async def mark_connection(
    session: AsyncSession, business_id: int, status: str, error: str | None = None
) -> None:
    await session.execute(
        update(QboConnection)
        .where(QboConnection.business_id == business_id)
        .values(status=status, last_error=error, updated_at=utcnow())
    )


async def connected_business_ids(session: AsyncSession) -> list[int]:
    """Businesses whose tokens still work: the scheduler's worklist (a system query, not a user's)."""
    return list(
        await session.scalars(select(QboConnection.business_id).where(QboConnection.status == "connected"))
    )


# --- OAuth state -------------------------------------------------------------------------------


async def create_oauth_state(
    session: AsyncSession, state: str, *, user_id: int, business_id: int | None, firm_id: int | None
) -> None:
    session.add(OAuthState(state=state, user_id=user_id, business_id=business_id, firm_id=firm_id))
    await session.flush()


async def consume_oauth_state(
    session: AsyncSession, state: str, *, user_id: int, max_age: dt.timedelta
) -> OAuthState | None:
    """The state if it exists, belongs to this user, is fresh and unused; it can never be used again."""
    now = utcnow()
    result = await session.execute(
        update(OAuthState)
        .where(
            OAuthState.state == state,
            OAuthState.user_id == user_id,
            OAuthState.used_at.is_(None),
            OAuthState.created_at > now - max_age,
        )
        .values(used_at=now)
    )
    if (getattr(result, "rowcount", 0) or 0) != 1:
        return None
    return await session.get(OAuthState, state)


# --- sync runs -----------------------------------------------------------------------------------


async def active_run(session: AsyncSession, business_id: int) -> SyncRun | None:
    return await session.scalar(
        select(SyncRun).where(SyncRun.business_id == business_id, SyncRun.status.in_(ACTIVE))
    )


async def request_run(
    session: AsyncSession, business_id: int, *, kind: str, trigger: str
) -> tuple[SyncRun, bool]:
    """The business's pending/running run, or a new pending one. Returns (run, created).

    A request for a full sync upgrades a pending incremental run instead of queueing a second run.
    """
    existing = await active_run(session, business_id)
    if existing is None:
        run = SyncRun(business_id=business_id, kind=kind, trigger=trigger, status="pending", progress={})
        try:
            async with session.begin_nested():
                session.add(run)
                await session.flush()
        except IntegrityError:
            # Another process inserted the active run between our look and our insert.
            existing = await active_run(session, business_id)
            if existing is None:
                raise
        else:
            return run, True
    if kind == "full" and existing.kind != "full" and existing.status == "pending":
        existing.kind = "full"
        existing.progress = {}
    return existing, False


async def claim_run(
    session: AsyncSession, run_id: int, *, worker: str, lease: dt.timedelta, now: dt.datetime | None = None
) -> bool:
    """Take a pending run, or a running one whose worker stopped renewing its lease. False if taken."""
    now = now or utcnow()
    result = await session.execute(
        update(SyncRun)
        .where(
            SyncRun.id == run_id,
            or_(
                SyncRun.status == "pending",
                (SyncRun.status == "running") & (SyncRun.lease_expires_at < now),
            ),
        )
        .values(
            status="running",
            lease_owner=worker,
            lease_expires_at=now + lease,
            attempt=SyncRun.attempt + 1,
            started_at=func.coalesce(SyncRun.started_at, now),
        )
    )
    return (getattr(result, "rowcount", 0) or 0) == 1


async def claimable_run_ids(
    session: AsyncSession, *, now: dt.datetime | None = None, limit: int = 10
) -> list[int]:
    now = now or utcnow()
    rows = await session.scalars(
        select(SyncRun.id)
        .where(
            or_(
                (SyncRun.status == "pending") & (SyncRun.run_after <= now),
                (SyncRun.status == "running") & (SyncRun.lease_expires_at < now),
            )
        )
        .order_by(SyncRun.run_after, SyncRun.id)
        .limit(limit)
    )
    return list(rows)


async def renew_lease(session: AsyncSession, run_id: int, **renewal: Any) -> bool:
    """Record progress and extend the lease, only if this worker still holds it (`renewal`: the keywords
    of `renew_lease_statement`)."""
    result = await session.execute(renew_lease_statement(run_id, **renewal))
    return (getattr(result, "rowcount", 0) or 0) == 1


def renew_lease_statement(
    run_id: int,
    *,
    worker: str,
    lease: dt.timedelta,
    progress: dict[str, Any],
    now: dt.datetime | None = None,
    **counters: int,
) -> Any:
    """`renew_lease`'s UPDATE, values bound: it changes one row exactly when the lease is still held."""
    return (
        update(SyncRun)
        .where(SyncRun.id == run_id, SyncRun.lease_owner == worker, SyncRun.status == "running")
        .values(lease_expires_at=(now or utcnow()) + lease, progress=progress, **counters)
    )


async def finish_run(
    session: AsyncSession,
    run_id: int,
    *,
    worker: str,
    status: str,
    error: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    finished = await session.scalar(
        update(SyncRun)
        .where(SyncRun.id == run_id, SyncRun.lease_owner == worker)
        .values(status=status, error=error, finished_at=now or utcnow(), lease_expires_at=None)
        .returning(SyncRun.business_id)
    )
    if finished is not None:
        # The run's pages are now the books screens read: a new stamp tells every cache at once.
        await bump_data_version(session, finished)


async def get_run(session: AsyncSession, business_id: int, run_id: int) -> SyncRun | None:
    return await session.scalar(
        select(SyncRun).where(SyncRun.id == run_id, SyncRun.business_id == business_id)
    )


async def latest_runs(session: AsyncSession, business_id: int, limit: int = 5) -> list[SyncRun]:
    return list(
        await session.scalars(
            select(SyncRun)
            .where(SyncRun.business_id == business_id)
            .order_by(SyncRun.created_at.desc(), SyncRun.id.desc())
            .limit(limit)
        )
    )


async def last_success_at(session: AsyncSession, business_id: int) -> dt.datetime | None:
    return await session.scalar(
        select(func.max(SyncRun.finished_at)).where(
            SyncRun.business_id == business_id, SyncRun.status == "succeeded"
        )
    )


async def businesses_due_for_sync(session: AsyncSession, *, older_than: dt.datetime) -> list[int]:
    """Connected businesses with no active run and no success since `older_than`."""
    last_ok = (
        select(SyncRun.business_id, func.max(SyncRun.finished_at).label("finished"))
        .where(SyncRun.status == "succeeded")
        .group_by(SyncRun.business_id)
        .subquery()
    )
    active = select(SyncRun.business_id).where(SyncRun.status.in_(ACTIVE))
    rows = await session.scalars(
        select(QboConnection.business_id)
        .outerjoin(last_ok, last_ok.c.business_id == QboConnection.business_id)
        .where(
            QboConnection.status == "connected",
            or_(last_ok.c.finished.is_(None), last_ok.c.finished < older_than),
            QboConnection.business_id.not_in(active),
        )
    )
    return list(rows)


# --- cursors -------------------------------------------------------------------------------------


async def get_cursors(session: AsyncSession, business_id: int) -> dict[str, dt.datetime]:
    rows = await session.execute(
        select(SyncCursor.entity, SyncCursor.changed_since).where(SyncCursor.business_id == business_id)
    )
    return {entity: since for entity, since in rows}


async def set_cursor(
    session: AsyncSession, business_id: int, entity: str, changed_since: dt.datetime
) -> None:
    await session.execute(set_cursor_statement(dialect_of(session), business_id, entity, changed_since))


def set_cursor_statement(
    dialect: str, business_id: int, entity: str, changed_since: dt.datetime, now: dt.datetime | None = None
) -> Any:
    """`set_cursor`'s upsert on (business, entity), values bound."""
    table = cast(Any, SyncCursor.__table__)
    insert = dialect_insert(dialect)
    statement = insert(table).values(
        business_id=business_id, entity=entity, changed_since=changed_since, updated_at=now or utcnow()
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.business_id, table.c.entity],
        set_={"changed_since": statement.excluded.changed_since, "updated_at": statement.excluded.updated_at},
    )


# --- quarantine ----------------------------------------------------------------------------------


async def quarantine(
    session: AsyncSession,
    business_id: int,
    *,
    entity: str,
    qbo_id: str,
    reason: str,
    raw: Any,
    run_id: int | None,
) -> None:
    existing = await session.scalar(
        select(QuarantinedEntity).where(
            QuarantinedEntity.business_id == business_id,
            QuarantinedEntity.entity == entity,
            QuarantinedEntity.qbo_id == qbo_id,
        )
    )
    if existing is None:
        session.add(
            QuarantinedEntity(
                business_id=business_id,
                entity=entity,
                qbo_id=qbo_id,
                reason=reason,
                raw=json_safe(raw),
                sync_run_id=run_id,
            )
        )
    else:
        existing.reason = reason
        existing.raw = json_safe(raw)
        existing.sync_run_id = run_id
        existing.created_at = utcnow()
    await session.flush()


async def release_quarantine(
    session: AsyncSession, business_id: int, entity: str, qbo_ids: Iterable[str]
) -> None:
    """Entities that now map cleanly (or were deleted) are no longer sync issues."""
    ids = list(qbo_ids)
    if ids:
        await session.execute(
            delete(QuarantinedEntity).where(
                QuarantinedEntity.business_id == business_id,
                QuarantinedEntity.entity == entity,
                QuarantinedEntity.qbo_id.in_(ids),
            )
        )


async def list_quarantine(session: AsyncSession, business_id: int) -> list[QuarantinedEntity]:
    return list(
        await session.scalars(
            select(QuarantinedEntity)
            .where(QuarantinedEntity.business_id == business_id)
            .order_by(QuarantinedEntity.entity, QuarantinedEntity.qbo_id)
        )
    )


# --- idempotent writes ---------------------------------------------------------------------------


async def get_write(session: AsyncSession, business_id: int, request_id: str) -> QboWrite | None:
    return await session.scalar(
        select(QboWrite).where(QboWrite.business_id == business_id, QboWrite.request_id == request_id)
    )


async def record_write(
    session: AsyncSession,
    business_id: int,
    *,
    request_id: str,
    entity: str,
    operation: str,
    target_qbo_id: str | None,
    payload: dict[str, Any],
    user_id: int | None,
) -> QboWrite:
    """The write row for this request_id: created now, or the existing one (a retry)."""
    existing = await get_write(session, business_id, request_id)
    if existing is not None:
        return existing
    write = QboWrite(
        business_id=business_id,
        request_id=request_id,
        entity=entity,
        operation=operation,
        target_qbo_id=target_qbo_id,
        payload=json_safe(payload),
        user_id=user_id,
        status="pending",
    )
    session.add(write)
    await session.flush()
    return write


async def complete_write(
    session: AsyncSession,
    business_id: int,
    request_id: str,
    *,
    status: str,
    result_qbo_id: str | None = None,
    response: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    await session.execute(
        update(QboWrite)
        .where(QboWrite.business_id == business_id, QboWrite.request_id == request_id)
        .values(
            status=status,
            result_qbo_id=result_qbo_id,
            response=json_safe(response) if response is not None else None,
            error=error,
            completed_at=utcnow(),
            attempts=QboWrite.attempts + 1,
        )
    )
    if status != "failed":
        # A succeeded write (or a conflict) stored QBO's object: the books changed.
        await bump_data_version(session, business_id)
