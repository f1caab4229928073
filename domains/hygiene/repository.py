"""Domain (hygiene): CRUD primitives over the triage tables; every function takes the business_id.

An issue key is (rule, entity_type, qbo_id), unique inside one business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domains.core.db import utcnow
from domains.hygiene.models import (
    HygieneDismissal,
    HygieneFix,
    HygieneIssueRecord,
    HygieneSnooze,
    HygieneState,
)
from domains.qbo.models import SyncRun

IssueKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Dismissal:
    fingerprint: str
    user_id: int | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Snooze:
    until: dt.date
    reason: str | None
    user_id: int | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    status: str
    resolution: str | None
    fingerprint: str
    resolved_at: dt.datetime | None
    fix_sync_run_id: int | None


@dataclass(frozen=True, slots=True)
class Summary:
    """The numbers a tray header shows for one business."""

    open_high: int
    open_medium: int
    open_low: int
    cleared_week: int
    score: int | None
    as_of: dt.date | None


@dataclass(frozen=True, slots=True)
class TriageState:
    """Everything decided about one business's issues, read in one go."""

    dismissals: dict[IssueKey, Dismissal]
    snoozes: dict[IssueKey, Snooze]
    register: dict[IssueKey, RegisterEntry]
    evaluated_run_id: int | None
    version: int
    last_succeeded_run_id: int | None
    newest_run_id: int | None
    sync_active: bool
    summary: Summary | None


def _key(row: Any) -> IssueKey:
    return (row.rule, row.entity_type, row.qbo_id)


def _where_key(model: Any, business_id: int, key: IssueKey) -> tuple[Any, ...]:
    rule, entity_type, qbo_id = key
    return (
        model.business_id == business_id,
        model.rule == rule,
        model.entity_type == entity_type,
        model.qbo_id == qbo_id,
    )


async def sync_markers(session: AsyncSession, business_id: int) -> tuple[int | None, int | None, bool]:
    """(newest succeeded sync run id, newest run id of any status, whether a run is pending/running)."""
    succeeded = await session.scalar(
        select(func.max(SyncRun.id)).where(SyncRun.business_id == business_id, SyncRun.status == "succeeded")
    )
    newest = await session.scalar(select(func.max(SyncRun.id)).where(SyncRun.business_id == business_id))
    active = await session.scalar(
        select(func.count(SyncRun.id)).where(
            SyncRun.business_id == business_id, SyncRun.status.in_(("pending", "running"))
        )
    )
    return succeeded, newest, bool(active)


async def load_triage_state(session: AsyncSession, business_id: int) -> TriageState:
    dismissals = {
        _key(d): Dismissal(d.fingerprint, d.user_id, d.created_at)
        for d in await session.scalars(
            select(HygieneDismissal).where(HygieneDismissal.business_id == business_id)
        )
    }
    snoozes = {
        _key(s): Snooze(s.until, s.reason, s.user_id, s.created_at)
        for s in await session.scalars(select(HygieneSnooze).where(HygieneSnooze.business_id == business_id))
    }
    register = {
        _key(r): RegisterEntry(r.status, r.resolution, r.fingerprint, r.resolved_at, r.fix_sync_run_id)
        for r in await session.scalars(
            select(HygieneIssueRecord).where(HygieneIssueRecord.business_id == business_id)
        )
    }
    state = await session.scalar(select(HygieneState).where(HygieneState.business_id == business_id))
    succeeded, newest, active = await sync_markers(session, business_id)
    return TriageState(
        dismissals=dismissals,
        snoozes=snoozes,
        register=register,
        evaluated_run_id=state.evaluated_run_id if state else None,
        version=state.version if state else 0,
        last_succeeded_run_id=succeeded,
        newest_run_id=newest,
        sync_active=active,
        summary=_summary(state) if state is not None else None,
    )


async def poll_marker(session: AsyncSession, business_id: int) -> tuple[int | None, int]:
    """(newest succeeded sync run id, triage version): what the tray's poll compares, in two reads."""
    succeeded = await session.scalar(
        select(func.max(SyncRun.id)).where(SyncRun.business_id == business_id, SyncRun.status == "succeeded")
    )
    version = await session.scalar(
        select(HygieneState.version).where(HygieneState.business_id == business_id)
    )
    return succeeded, int(version or 0)


async def bump_state(
    session: AsyncSession,
    business_id: int,
    *,
    evaluated_run_id: int | None = None,
    increment: bool = True,
    reevaluate: bool = False,
) -> None:
    """Increase the business's triage version and/or record the sync run the register was brought up to.

    `reevaluate` forgets that run, so the next read brings the register up to date again (a fix changed our
    copy of the books: other issues may have cleared with it).
    """
    state = await session.scalar(select(HygieneState).where(HygieneState.business_id == business_id))
    if state is None:
        state = HygieneState(business_id=business_id, version=0, evaluated_run_id=None)
        session.add(state)
    if increment:
        state.version = (state.version or 0) + 1
    if evaluated_run_id is not None:
        state.evaluated_run_id = evaluated_run_id
    if reevaluate:
        state.evaluated_run_id = None
    state.updated_at = utcnow()
    await session.flush()


async def store_summary(session: AsyncSession, business_id: int, summary: Summary) -> None:
    """Keep the business's latest summary."""
    state = await session.scalar(select(HygieneState).where(HygieneState.business_id == business_id))
    if state is None:
        state = HygieneState(business_id=business_id, version=0, evaluated_run_id=None)
        session.add(state)
    values = {
        "open_high": summary.open_high,
        "open_medium": summary.open_medium,
        "open_low": summary.open_low,
        "cleared_week": summary.cleared_week,
        "score": summary.score,
        "summary_as_of": summary.as_of,
    }
    if any(getattr(state, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(state, name, value)
        state.updated_at = utcnow()
    await session.flush()


async def stored_summaries(session: AsyncSession, business_ids: Iterable[int]) -> dict[int, Summary]:
    """The stored summaries of several businesses (the caller has already scoped the ids to a user)."""
    ids = list(business_ids)
    if not ids:
        return {}
    rows = await session.scalars(select(HygieneState).where(HygieneState.business_id.in_(ids)))
    return {row.business_id: _summary(row) for row in rows}


def _summary(row: HygieneState) -> Summary:
    return Summary(
        row.open_high, row.open_medium, row.open_low, row.cleared_week, row.score, row.summary_as_of
    )


async def put_dismissal(
    session: AsyncSession, business_id: int, key: IssueKey, *, fingerprint: str, user_id: int | None
) -> None:
    existing = await session.scalar(
        select(HygieneDismissal).where(*_where_key(HygieneDismissal, business_id, key))
    )
    if existing is None:
        rule, entity_type, qbo_id = key
        session.add(
            HygieneDismissal(
                business_id=business_id,
                rule=rule,
                entity_type=entity_type,
                qbo_id=qbo_id,
                fingerprint=fingerprint,
                user_id=user_id,
            )
        )
    else:
        existing.fingerprint = fingerprint
        existing.user_id = user_id
        existing.created_at = utcnow()
    await session.flush()


async def delete_dismissal(session: AsyncSession, business_id: int, key: IssueKey) -> bool:
    result = await session.execute(
        delete(HygieneDismissal).where(*_where_key(HygieneDismissal, business_id, key))
    )
    return bool(getattr(result, "rowcount", 0))


async def delete_dismissals(session: AsyncSession, business_id: int, keys: Iterable[IssueKey]) -> None:
    for key in keys:
        await delete_dismissal(session, business_id, key)


async def put_snooze(
    session: AsyncSession,
    business_id: int,
    key: IssueKey,
    *,
    until: dt.date,
    reason: str | None,
    user_id: int | None,
) -> None:
    existing = await session.scalar(select(HygieneSnooze).where(*_where_key(HygieneSnooze, business_id, key)))
    if existing is None:
        rule, entity_type, qbo_id = key
        session.add(
            HygieneSnooze(
                business_id=business_id,
                rule=rule,
                entity_type=entity_type,
                qbo_id=qbo_id,
                until=until,
                reason=reason,
                user_id=user_id,
            )
        )
    else:
        existing.until = until
        existing.reason = reason
        existing.user_id = user_id
        existing.created_at = utcnow()
    await session.flush()


async def delete_snooze(session: AsyncSession, business_id: int, key: IssueKey) -> bool:
    result = await session.execute(delete(HygieneSnooze).where(*_where_key(HygieneSnooze, business_id, key)))
    return bool(getattr(result, "rowcount", 0))


async def delete_snoozes_ended(session: AsyncSession, business_id: int, *, on_or_before: dt.date) -> None:
    """Forget snoozes whose date has come: the issue is open again by itself."""
    await session.execute(
        delete(HygieneSnooze).where(
            HygieneSnooze.business_id == business_id, HygieneSnooze.until <= on_or_before
        )
    )


async def see_issue(
    session: AsyncSession,
    business_id: int,
    key: IssueKey,
    *,
    severity: str,
    amount_cents: int,
    fingerprint: str,
    reopen: bool,
) -> None:
    """Record an issue as detected; `reopen` turns a resolved entry open again."""
    row = await session.scalar(
        select(HygieneIssueRecord).where(*_where_key(HygieneIssueRecord, business_id, key))
    )
    if row is None:
        rule, entity_type, qbo_id = key
        session.add(
            HygieneIssueRecord(
                business_id=business_id,
                rule=rule,
                entity_type=entity_type,
                qbo_id=qbo_id,
                severity=severity,
                amount_cents=amount_cents,
                fingerprint=fingerprint,
                status="open",
            )
        )
        await session.flush()
        return
    row.severity = severity
    row.amount_cents = amount_cents
    if row.status == "open" or reopen:
        row.fingerprint = fingerprint
    if reopen and row.status != "open":
        row.status = "open"
        row.resolution = None
        row.resolved_at = None
        row.resolved_by_user_id = None
        row.fix_sync_run_id = None
    await session.flush()


async def add_seen_issues(
    session: AsyncSession, business_id: int, issues: Iterable[tuple[IssueKey, str, int, str]]
) -> None:
    """Register issues seen for the first time: (key, severity, amount_cents, fingerprint), in one flush."""
    rows = [
        HygieneIssueRecord(
            business_id=business_id,
            rule=rule,
            entity_type=entity_type,
            qbo_id=qbo_id,
            severity=severity,
            amount_cents=amount_cents,
            fingerprint=fingerprint,
            status="open",
        )
        for (rule, entity_type, qbo_id), severity, amount_cents, fingerprint in issues
    ]
    if rows:
        session.add_all(rows)
        await session.flush()


async def resolve_issue(
    session: AsyncSession,
    business_id: int,
    key: IssueKey,
    *,
    resolution: str,
    severity: str,
    amount_cents: int,
    fingerprint: str,
    user_id: int | None = None,
    fix_sync_run_id: int | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Mark an issue resolved (creating its register entry if the tray never recorded it)."""
    await see_issue(
        session,
        business_id,
        key,
        severity=severity,
        amount_cents=amount_cents,
        fingerprint=fingerprint,
        reopen=False,
    )
    await session.execute(
        update(HygieneIssueRecord)
        .where(*_where_key(HygieneIssueRecord, business_id, key))
        .values(
            status="resolved",
            resolution=resolution,
            fingerprint=fingerprint,
            resolved_at=at or utcnow(),
            resolved_by_user_id=user_id,
            fix_sync_run_id=fix_sync_run_id,
        )
    )


async def resolve_gone(session: AsyncSession, business_id: int, keys: Iterable[IssueKey]) -> None:
    """Issues the latest books no longer trigger: resolved as cleared in QBO (fixes keep their own record)."""
    now = utcnow()
    for key in keys:
        await session.execute(
            update(HygieneIssueRecord)
            .where(*_where_key(HygieneIssueRecord, business_id, key), HygieneIssueRecord.status == "open")
            .values(status="resolved", resolution="cleared_in_qbo", resolved_at=now, resolved_by_user_id=None)
        )


async def reopen_issue(session: AsyncSession, business_id: int, key: IssueKey) -> None:
    """A fix was undone: the issue is open again (the next read shows it if the books still trigger it)."""
    await session.execute(
        update(HygieneIssueRecord)
        .where(*_where_key(HygieneIssueRecord, business_id, key))
        .values(
            status="open", resolution=None, resolved_at=None, resolved_by_user_id=None, fix_sync_run_id=None
        )
    )


async def add_fix(
    session: AsyncSession,
    business_id: int,
    key: IssueKey,
    *,
    fix: str,
    qbo_entity: str,
    qbo_target_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    summary: str,
    request_id: str | None,
    revertible: bool,
    user_id: int | None,
) -> HygieneFix:
    rule, entity_type, qbo_id = key
    row = HygieneFix(
        business_id=business_id,
        rule=rule,
        entity_type=entity_type,
        qbo_id=qbo_id,
        fix=fix,
        qbo_entity=qbo_entity,
        qbo_target_id=qbo_target_id,
        before=before,
        after=after,
        summary=summary,
        request_id=request_id,
        revertible=revertible,
        user_id=user_id,
    )
    session.add(row)
    await session.flush()
    return row


async def get_fix(session: AsyncSession, business_id: int, fix_id: int) -> HygieneFix | None:
    """One fix of this business; None when absent or another business's."""
    return await session.scalar(
        select(HygieneFix).where(HygieneFix.business_id == business_id, HygieneFix.id == fix_id)
    )


async def mark_fix_reverted(
    session: AsyncSession, business_id: int, fix_id: int, *, user_id: int | None
) -> None:
    await session.execute(
        update(HygieneFix)
        .where(HygieneFix.business_id == business_id, HygieneFix.id == fix_id)
        .values(reverted_at=utcnow(), reverted_by_user_id=user_id)
    )
