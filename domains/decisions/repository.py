"""Domain (decisions): CRUD primitives for decisions, finalize batches, critical vendors and settings.

Every function takes the business_id. Changes to a decision are compare-and-set on its `version`
(`UPDATE … WHERE id = :id AND version = :seen`), which behaves the same on SQLite and PostgreSQL and
needs no lock held across requests.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domains.core import foreground
from domains.core.data_versions import bump_console_version
from domains.core.db import RowReader, RowWriter, utcnow
from domains.core.models import Business, BusinessDataVersion, User
from domains.decisions.models import (
    APPROVED,
    EXECUTING,
    ITEM_PENDING,
    ITEM_RUNNING,
    ConsoleSettings,
    CriticalVendor,
    Decision,
    FinalizeBatch,
    FinalizeItem,
)
from domains.hygiene.models import HygieneState
from domains.qbo.models import QboConnection

DEFAULT_PAY_RUN_WEEKDAY = 4


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class ConsoleMarkers:
    """What the console reads first on every request, in one statement: the business's name and time
    zone, its data-version stamps, its hygiene triage version and whether it has a QBO connection."""

    name: str
    timezone: str
    books_stamp: str | None
    console_stamp: str | None
    triage_version: int
    connected: bool


async def console_markers(session: RowReader, business_id: int) -> ConsoleMarkers | None:
    """The business's `ConsoleMarkers`, or None when there is no such business."""
    row = (await session.execute(_markers_statement(), {"business_id": business_id})).first()
    if row is None:
        return None
    name, timezone, books, console, triage, connected = row
    return ConsoleMarkers(name, timezone, books, console, int(triage or 0), bool(connected))


@functools.cache
def _markers_statement() -> Any:
    business, versions, state, connection = (
        cast(Any, model.__table__) for model in (Business, BusinessDataVersion, HygieneState, QboConnection)
    )
    triage = select(state.c.version).where(state.c.business_id == business.c.id).scalar_subquery()
    connected = select(connection.c.id).where(connection.c.business_id == business.c.id).exists()
    return (
        select(
            business.c.name,
            business.c.timezone,
            versions.c.stamp,
            versions.c.console_stamp,
            triage,
            connected,
        )
        .select_from(business)
        .outerjoin(versions, versions.c.business_id == business.c.id)
        .where(business.c.id == bindparam("business_id"))
    )


async def current_decision_rows(session: AsyncSession, business_id: int) -> list[Any]:
    """Every item's current decision, oldest first, as plain rows (attribute access by column name, no ORM
    identity map: a queue can hold thousands)."""
    table = Decision.__table__
    statement = (
        select(table)
        .where(table.c.business_id == business_id, table.c.is_current.is_(True))
        .order_by(table.c.decided_at, table.c.id)
    )
    # Outside a request (the refresh after a sync) in turns of the event loop: thousands of decisions.
    return [row async for batch in foreground.row_batches(session, statement, 500) for row in batch]


async def current_decision_for(session: RowReader, business_id: int, entity_type: str, qbo_id: str) -> Any:
    """The item's current decision as a plain row (attribute access by column name), or None."""
    params = {"business_id": business_id, "entity_type": entity_type, "qbo_id": qbo_id}
    return (await session.execute(_current_for_item(), params)).first()


@functools.cache
def _current_for_item() -> Any:
    """Every keypress looks its item up: a statement built once, on the table (no ORM loading)."""
    table = cast(Any, Decision.__table__)
    return select(table).where(
        table.c.business_id == bindparam("business_id"),
        table.c.entity_type == bindparam("entity_type"),
        table.c.qbo_id == bindparam("qbo_id"),
        table.c.is_current.is_(True),
    )


async def get_decision(session: AsyncSession, business_id: int, decision_id: int) -> Decision | None:
    return await session.scalar(
        select(Decision).where(Decision.business_id == business_id, Decision.id == decision_id)
    )


async def decisions_by_ids(
    session: AsyncSession, business_id: int, decision_ids: Iterable[int]
) -> dict[int, Decision]:
    ids = sorted(set(decision_ids))
    if not ids:
        return {}
    rows = await session.scalars(
        select(Decision).where(Decision.business_id == business_id, Decision.id.in_(ids))
    )
    return {row.id: row for row in rows}


async def list_decisions(session: AsyncSession, business_id: int) -> list[Decision]:
    """The whole decision log of a business, oldest first (undone and replaced ones included)."""
    return list(
        await session.scalars(
            select(Decision).where(Decision.business_id == business_id).order_by(Decision.id)
        )
    )


async def add_decision(session: RowWriter, business_id: int, **values: Any) -> Any:
    """Insert the item's new current decision and answer it as a plain row (one INSERT ... RETURNING)."""
    row = (
        await session.execute(
            _decision_insert(), {"business_id": business_id, "version": 1, "is_current": True, **values}
        )
    ).one()
    await bump_console_version(session, business_id)
    return row


@functools.cache
def _decision_insert() -> Any:
    table = cast(Any, Decision.__table__)
    return insert(table).returning(*table.c)


async def change_decision(
    session: RowWriter, business_id: int, decision_id: int, seen_version: int, **values: Any
) -> bool:
    """Compare-and-set: apply `values` and bump the version only if the version is still `seen_version`."""
    result = await session.execute(
        update(Decision)
        .where(
            Decision.business_id == business_id,
            Decision.id == decision_id,
            Decision.version == seen_version,
        )
        .values(**values, version=Decision.version + 1, updated_at=utcnow())
    )
    changed = _rowcount(result) == 1
    if changed:
        await bump_console_version(session, business_id)
    return changed


async def last_undoable_by(
    session: AsyncSession, business_id: int, user_id: int, statuses: Sequence[str]
) -> Decision | None:
    """The newest current decision this user made that has not been executed."""
    return await session.scalar(
        select(Decision)
        .where(
            Decision.business_id == business_id,
            Decision.decided_by == user_id,
            Decision.is_current.is_(True),
            Decision.status.in_(statuses),
        )
        .order_by(Decision.id.desc())
        .limit(1)
    )


async def user_labels(session: RowReader, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Display name (else e-mail) of each user id."""
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name, User.email).where(User.id.in_(ids)))
    return {uid: name or email for uid, name, email in rows}


# --- finalize batches -------------------------------------------------------------------------------


async def running_batch(session: AsyncSession, business_id: int) -> FinalizeBatch | None:
    return await session.scalar(
        select(FinalizeBatch)
        .where(FinalizeBatch.business_id == business_id, FinalizeBatch.status == "running")
        .order_by(FinalizeBatch.id)
        .limit(1)
    )


async def get_batch(session: AsyncSession, business_id: int, batch_id: int) -> FinalizeBatch | None:
    return await session.scalar(
        select(FinalizeBatch).where(FinalizeBatch.business_id == business_id, FinalizeBatch.id == batch_id)
    )


async def latest_batch(session: AsyncSession, business_id: int) -> FinalizeBatch | None:
    return await session.scalar(
        select(FinalizeBatch)
        .where(FinalizeBatch.business_id == business_id)
        .order_by(FinalizeBatch.id.desc())
        .limit(1)
    )


async def start_batch(
    session: AsyncSession, business_id: int, *, as_of: dt.date, user_id: int | None
) -> FinalizeBatch | None:
    """A new batch taking every current approved decision (approved → executing); None when none is."""
    approved = list(
        await session.scalars(
            select(Decision)
            .where(
                Decision.business_id == business_id,
                Decision.is_current.is_(True),
                Decision.status == APPROVED,
            )
            .order_by(Decision.id)
        )
    )
    if not approved:
        return None
    batch = FinalizeBatch(business_id=business_id, status="running", as_of=as_of, started_by=user_id)
    session.add(batch)
    await session.flush()
    taken = 0
    for decision in approved:
        # A decision replaced or undone concurrently (PostgreSQL) fails the compare-and-set: leave it out.
        if not await change_decision(
            session, business_id, decision.id, decision.version, status=EXECUTING, batch_id=batch.id
        ):
            continue
        session.add(
            FinalizeItem(
                business_id=business_id,
                batch_id=batch.id,
                decision_id=decision.id,
                position=taken,
                outcome=ITEM_PENDING,
            )
        )
        taken += 1
    if taken == 0:
        await session.delete(batch)
        await session.flush()
        return None
    await session.flush()
    return batch


async def claim_item(
    session: AsyncSession, business_id: int, batch_id: int, *, now: dt.datetime, lease: dt.timedelta
) -> FinalizeItem | None:
    """Take the next pending item of a batch, or a running one whose lease expired (its runner died)."""
    candidates = list(
        await session.scalars(
            select(FinalizeItem)
            .where(
                FinalizeItem.business_id == business_id,
                FinalizeItem.batch_id == batch_id,
                or_(
                    FinalizeItem.outcome == ITEM_PENDING,
                    (FinalizeItem.outcome == ITEM_RUNNING) & (FinalizeItem.lease_expires_at < now),
                ),
            )
            .order_by(FinalizeItem.position)
            .limit(5)
        )
    )
    for item in candidates:
        result = await session.execute(
            update(FinalizeItem)
            .where(
                FinalizeItem.id == item.id,
                # Two runners may see the same candidate; the attempt counter lets only one take it.
                FinalizeItem.outcome == item.outcome,
                FinalizeItem.attempts == item.attempts,
            )
            .values(
                outcome=ITEM_RUNNING,
                lease_expires_at=now + lease,
                attempts=FinalizeItem.attempts + 1,
                started_at=func.coalesce(FinalizeItem.started_at, now),
            )
        )
        if _rowcount(result) == 1:
            await session.refresh(item)
            await bump_console_version(session, business_id)
            return item
    return None


async def finish_item(
    session: AsyncSession,
    business_id: int,
    item_id: int,
    *,
    outcome: str,
    message: str | None,
    qbo_result_id: str | None,
    now: dt.datetime,
) -> None:
    await session.execute(
        update(FinalizeItem)
        .where(FinalizeItem.business_id == business_id, FinalizeItem.id == item_id)
        .values(
            outcome=outcome,
            message=message,
            qbo_result_id=qbo_result_id,
            finished_at=now,
            lease_expires_at=None,
        )
    )
    await bump_console_version(session, business_id)


async def batch_items(session: AsyncSession, business_id: int, batch_id: int) -> list[FinalizeItem]:
    return list(
        await session.scalars(
            select(FinalizeItem)
            .where(FinalizeItem.business_id == business_id, FinalizeItem.batch_id == batch_id)
            .order_by(FinalizeItem.position)
        )
    )


async def finish_batch_if_complete(
    session: AsyncSession, business_id: int, batch_id: int, *, now: dt.datetime
) -> bool:
    """Mark the batch finished once no item is pending or running; True when this call finished it."""
    open_items = await session.scalar(
        select(func.count())
        .select_from(FinalizeItem)
        .where(
            FinalizeItem.business_id == business_id,
            FinalizeItem.batch_id == batch_id,
            FinalizeItem.outcome.in_((ITEM_PENDING, ITEM_RUNNING)),
        )
    )
    if open_items:
        return False
    result = await session.execute(
        update(FinalizeBatch)
        .where(
            FinalizeBatch.business_id == business_id,
            FinalizeBatch.id == batch_id,
            FinalizeBatch.status == "running",
        )
        .values(status="finished", finished_at=now)
    )
    finished = _rowcount(result) == 1
    if finished:
        await bump_console_version(session, business_id)
    return finished


# --- critical vendors and settings ------------------------------------------------------------------


async def critical_vendor_ids(session: AsyncSession, business_id: int) -> set[str]:
    return set(
        await session.scalars(
            select(CriticalVendor.vendor_qbo_id).where(CriticalVendor.business_id == business_id)
        )
    )


async def set_critical_vendor(
    session: AsyncSession, business_id: int, vendor_qbo_id: str, *, critical: bool, user_id: int | None
) -> bool:
    """Flag or unflag a vendor; returns whether anything changed."""
    existing = await session.scalar(
        select(CriticalVendor).where(
            CriticalVendor.business_id == business_id, CriticalVendor.vendor_qbo_id == vendor_qbo_id
        )
    )
    if critical and existing is None:
        session.add(CriticalVendor(business_id=business_id, vendor_qbo_id=vendor_qbo_id, flagged_by=user_id))
        await session.flush()
        await bump_console_version(session, business_id)
        return True
    if not critical and existing is not None:
        await session.execute(
            delete(CriticalVendor).where(
                CriticalVendor.business_id == business_id, CriticalVendor.id == existing.id
            )
        )
        await bump_console_version(session, business_id)
        return True
    return False


async def pay_run_weekday(session: AsyncSession, business_id: int) -> int:
    value = await session.scalar(
        select(ConsoleSettings.pay_run_weekday).where(ConsoleSettings.business_id == business_id)
    )
    return DEFAULT_PAY_RUN_WEEKDAY if value is None else int(value)


async def set_pay_run_weekday(
    session: AsyncSession, business_id: int, weekday: int, *, user_id: int | None
) -> None:
    if not 0 <= weekday <= 6:
        raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
    existing = await session.scalar(select(ConsoleSettings).where(ConsoleSettings.business_id == business_id))
    if existing is None:
        session.add(ConsoleSettings(business_id=business_id, pay_run_weekday=weekday, updated_by=user_id))
    else:
        existing.pay_run_weekday = weekday
        existing.updated_by = user_id
        existing.updated_at = utcnow()
    await session.flush()
    await bump_console_version(session, business_id)
