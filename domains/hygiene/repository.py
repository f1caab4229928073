"""Domain (hygiene): CRUD primitives over the triage tables; every function takes the business_id.

An issue key is (rule, entity_type, qbo_id), unique inside one business.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, delete, func, insert, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domains.core import foreground
from domains.core.db import RowReader, RowWriter, dialect_insert, dialect_of, utcnow
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
    """One register row: how the issue stands, and (for open ones) the issue as last detected."""

    status: str
    resolution: str | None
    fingerprint: str
    resolved_at: dt.datetime | None
    fix_sync_run_id: int | None
    id: int = 0
    severity: str = ""
    amount_cents: int = 0
    forecast_effect: str | None = None
    fix: str | None = None
    fix_params: dict[str, Any] | None = field(default=None, hash=False)
    fingerprint_fields: dict[str, Any] | None = field(default=None, hash=False)
    item_balance_cents: int | None = None


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """An open register entry with what hides it, if anything (a dismissal, a snooze): one firm tray row.

    Only the columns a tray needs to filter, sort and count; `register_details` reads the rest.
    """

    id: int
    business_id: int
    rule: str
    entity_type: str
    qbo_id: str
    severity: str
    amount_cents: int
    fingerprint: str
    fix: str | None
    item_balance_cents: int | None
    has_display: bool
    dismissed_fingerprint: str | None
    dismissed_at: dt.datetime | None
    snoozed_until: dt.date | None
    snoozed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class RegisterDetail:
    """The rest of an open register entry: the issue's wording and parameters, and the row's display."""

    id: int
    forecast_effect: str | None
    fix_params: dict[str, Any] | None = field(hash=False)
    fingerprint_fields: dict[str, Any] | None = field(hash=False)
    display: dict[str, Any] | None = field(hash=False)


@dataclass(frozen=True, slots=True)
class EvaluationState:
    """Where one business's register stands: the run, date and time it was brought up to, and markers."""

    business_id: int
    evaluated_run_id: int | None
    evaluated_on: dt.date | None
    evaluated_at: dt.datetime | None
    open_cents: int | None
    version: int
    last_succeeded_run_id: int | None
    sync_active: bool
    summary: Summary | None
    # The `version` `summary` was worked out at (None: unknown).
    summary_version: int | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    """The numbers a tray header shows for one business."""

    open_high: int
    open_medium: int
    open_low: int
    cleared_week: int
    score: int | None
    as_of: dt.date | None
    # Behind `score` when worked out from the register (None otherwise); not part of what a header shows.
    flagged_cents: int | None = field(default=None, compare=False)


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
    evaluated_on: dt.date | None = None
    evaluated_at: dt.datetime | None = None
    open_cents: int | None = None


def _key(row: Any) -> IssueKey:
    return (row.rule, row.entity_type, row.qbo_id)


def _key_params(business_id: int, key: IssueKey) -> dict[str, Any]:
    rule, entity_type, qbo_id = key
    return {"business_id": business_id, "rule": rule, "entity_type": entity_type, "qbo_id": qbo_id}


def _where_bound_key(model: Any) -> tuple[Any, ...]:
    """`_where_key` with bound parameters (see `_key_params`), for statements built once."""
    return (
        model.business_id == bindparam("business_id"),
        model.rule == bindparam("rule"),
        model.entity_type == bindparam("entity_type"),
        model.qbo_id == bindparam("qbo_id"),
    )


# Statements a triage action runs, built once: building and compiling a statement costs more Python than
# SQLite takes to run these (parameters: `_key_params`, or business_id for the state row).
@functools.cache
def _delete_by_key(model: Any) -> Any:
    # A Core DELETE on the table: the ORM's bulk-delete handling costs more than the statement.
    table = model.__table__
    return delete(table).where(*_where_bound_key(table.c))


@functools.cache
def _state_row() -> Any:
    return select(HygieneState).where(HygieneState.business_id == bindparam("business_id"))


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


# Register rows read between turns of the event loop (`load_triage_state(in_turns=True)`).
_TRIAGE_ROWS_PER_TURN = 250

TriageMarker = tuple[int, int | None, dt.datetime | None, dt.date | None]


def triage_marker(triage: TriageState) -> TriageMarker:
    """What changes whenever a business's triage state does: every writer of its register, dismissals or
    snoozes either raises its version (triage actions, fixes) or records an evaluation."""
    return (triage.version, triage.evaluated_run_id, triage.evaluated_at, triage.evaluated_on)


async def current_triage_marker(session: RowReader, business_id: int) -> TriageMarker:
    """`triage_marker` of the business's triage state as stored now, in one primary-key read."""
    state = await session.scalar(_state_row(), {"business_id": business_id})
    if state is None:
        return (0, None, None, None)
    return (state.version, state.evaluated_run_id, state.evaluated_at, state.evaluated_on)


async def load_triage_state(
    session: AsyncSession, business_id: int, *, in_turns: bool = False
) -> TriageState:
    """Everything triage knows of a business. Plain rows on the tables' columns, not ORM objects: a large
    company's register holds thousands of entries, read several times while it is brought up to date
    (once inside the write, where every millisecond holds the write lock).

    `in_turns`: with turns of the event loop between batches of rows (`foreground.row_batches`), for a
    read outside a write transaction (a register of 8,000 entries took 150 ms to read in one go)."""
    dismissal, snooze, record = (
        cast(Any, model.__table__).c for model in (HygieneDismissal, HygieneSnooze, HygieneIssueRecord)
    )

    async def batches(statement: Any) -> AsyncIterator[Sequence[Any]]:
        if not in_turns:
            yield (await session.execute(statement)).all()
            return
        async for batch in foreground.row_batches(session, statement, _TRIAGE_ROWS_PER_TURN):
            yield batch

    dismissals: dict[IssueKey, Dismissal] = {}
    async for batch in batches(select(*dismissal).where(dismissal.business_id == business_id)):
        dismissals.update((_key(d), Dismissal(d.fingerprint, d.user_id, d.created_at)) for d in batch)
    snoozes: dict[IssueKey, Snooze] = {}
    async for batch in batches(select(*snooze).where(snooze.business_id == business_id)):
        snoozes.update((_key(s), Snooze(s.until, s.reason, s.user_id, s.created_at)) for s in batch)
    register: dict[IssueKey, RegisterEntry] = {}
    async for batch in batches(select(*record).where(record.business_id == business_id)):
        register.update(
            (
                _key(r),
                RegisterEntry(
                    r.status,
                    r.resolution,
                    r.fingerprint,
                    r.resolved_at,
                    r.fix_sync_run_id,
                    id=r.id,
                    severity=r.severity,
                    amount_cents=r.amount_cents,
                    forecast_effect=r.forecast_effect,
                    fix=r.fix,
                    fix_params=r.fix_params,
                    fingerprint_fields=r.fingerprint_fields,
                    item_balance_cents=r.item_balance_cents,
                ),
            )
            for r in batch
        )
    state = await session.scalar(_state_row(), {"business_id": business_id})
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
        evaluated_on=state.evaluated_on if state else None,
        evaluated_at=state.evaluated_at if state else None,
        open_cents=state.open_cents if state else None,
    )


@functools.cache
def _evaluation_statements() -> tuple[Any, Any]:
    """The two queries of `evaluation_states`, built once (parameter: the business ids)."""
    ids: Any = bindparam("ids", expanding=True)
    table = HygieneState.__table__
    states = select(*table.c).where(table.c.business_id.in_(ids))
    run = SyncRun.__table__.c
    runs = (
        select(
            run.business_id,
            func.max(case((run.status == "succeeded", run.id))),
            func.sum(case((run.status.in_(("pending", "running")), 1), else_=0)),
        )
        .where(run.business_id.in_(ids))
        .group_by(run.business_id)
    )
    # Table columns, not mapped attributes: plain rows skip the ORM's loading on this per-request read.
    return states, runs


async def evaluation_states(session: RowReader, business_ids: Iterable[int]) -> dict[int, EvaluationState]:
    """Each business's register state and sync markers, in two queries for any number of businesses."""
    ids = list(business_ids)
    if not ids:
        return {}
    states_statement, runs_statement = _evaluation_statements()
    states = {row.business_id: row for row in await session.execute(states_statement, {"ids": ids})}
    runs = await session.execute(runs_statement, {"ids": ids})
    succeeded: dict[int, int | None] = {}
    active: set[int] = set()
    for business_id, last_succeeded, running in runs.all():
        succeeded[business_id] = last_succeeded
        if running:
            active.add(business_id)
    result: dict[int, EvaluationState] = {}
    for business_id in ids:
        state = states.get(business_id)
        result[business_id] = EvaluationState(
            business_id=business_id,
            evaluated_run_id=state.evaluated_run_id if state else None,
            evaluated_on=state.evaluated_on if state else None,
            evaluated_at=state.evaluated_at if state else None,
            open_cents=state.open_cents if state else None,
            version=state.version if state else 0,
            last_succeeded_run_id=succeeded.get(business_id),
            sync_active=business_id in active,
            summary=_summary(state) if state is not None else None,
            summary_version=state.summary_version if state else None,
        )
    return result


def _same_issue(other: Any) -> Any:
    """Join condition: the triage row `other` (a table) is about the register entry's issue."""
    issue = _tables()[0].c
    return and_(
        other.c.business_id == issue.business_id,
        other.c.rule == issue.rule,
        other.c.entity_type == issue.entity_type,
        other.c.qbo_id == issue.qbo_id,
    )


def _tables() -> tuple[Any, Any, Any]:
    """The register's tables. Statements on every request select table columns, not mapped attributes:
    plain rows skip the ORM's result loading, which costs more than SQLite takes to run them."""
    return HygieneIssueRecord.__table__, HygieneDismissal.__table__, HygieneSnooze.__table__


def _register_select(*criteria: Any) -> Any:
    issue, dismissal, snooze = _tables()
    return (
        select(
            issue.c.id,
            issue.c.business_id,
            issue.c.rule,
            issue.c.entity_type,
            issue.c.qbo_id,
            issue.c.severity,
            issue.c.amount_cents,
            issue.c.fingerprint,
            issue.c.fix,
            issue.c.item_balance_cents,
            issue.c.display.is_not(None),
            dismissal.c.fingerprint,
            dismissal.c.created_at,
            snooze.c.until,
            snooze.c.created_at,
        )
        .select_from(issue)
        .outerjoin(dismissal, _same_issue(dismissal))
        .outerjoin(snooze, _same_issue(snooze))
        .where(issue.c.status == "open", *criteria)
    )


async def register_rows(
    session: AsyncSession,
    business_ids: Iterable[int],
    *,
    severity: str | None = None,
    entity_types: Iterable[str] | None = None,
) -> list[RegisterRow]:
    """The open register entries of several businesses with their dismissal and snooze, in one query
    (only those of one `severity` and on `entity_types`, when given)."""
    ids = list(business_ids)
    if not ids:
        return []
    issue = _tables()[0].c
    criteria: list[Any] = [issue.business_id.in_(ids)]
    if severity is not None:
        criteria.append(issue.severity == severity)
    if entity_types is not None:
        criteria.append(issue.entity_type.in_(list(entity_types)))
    stmt = _register_select(*criteria)
    return [RegisterRow(*tuple(row)) for row in (await session.execute(stmt)).all()]


@functools.cache
def _register_row() -> Any:
    return _register_select(*_where_bound_key(_tables()[0].c))


async def register_row(session: RowReader, business_id: int, key: IssueKey) -> RegisterRow | None:
    """One open register entry of a business, with its dismissal and snooze."""
    row = (await session.execute(_register_row(), _key_params(business_id, key))).first()
    return RegisterRow(*tuple(row)) if row is not None else None


@functools.cache
def _register_count_statements(by_entity: bool) -> tuple[Any, Any]:
    """The two aggregates of `register_counts`, built once: every value is a bound parameter (business_id,
    as_of, since, flag; entity_type and qbo_id for one object), so a triage action that runs them twice
    spends no time building and compiling them again."""
    tables = _tables()
    issue, dismissal, snooze = (table.c for table in tables)
    matching = and_(_same_issue(tables[1]), dismissal.fingerprint == issue.fingerprint)
    waiting = and_(_same_issue(tables[2]), snooze.until > bindparam("as_of"))
    shown = and_(dismissal.id.is_(None), snooze.id.is_(None))
    joined = (
        select(issue.id)
        .select_from(tables[0])
        .outerjoin(tables[1], matching)
        .outerjoin(tables[2], waiting)
        .where(issue.business_id == bindparam("business_id"), issue.status == "open")
    )
    if by_entity:
        joined = joined.where(
            issue.entity_type == bindparam("entity_type"), issue.qbo_id == bindparam("qbo_id")
        )
    since = bindparam("since", type_=dismissal.created_at.type)
    hidden_recently = (dismissal.id.is_not(None) & (dismissal.created_at >= since)) | (
        dismissal.id.is_(None) & snooze.id.is_not(None) & (snooze.created_at >= since)
    )
    flag = issue.severity.in_(bindparam("flag", expanding=True))
    payable = issue.entity_type.in_(("bill", "invoice"))
    counts = joined.with_only_columns(
        issue.severity,
        func.sum(case((shown, 1), else_=0)),
        func.sum(case((hidden_recently, 1), else_=0)),
        # One object's flagged balance is its largest flagged entry's balance (see `flagged` below).
        func.max(case((and_(shown, flag, payable), issue.item_balance_cents))),
    ).group_by(issue.severity)
    flagged_items = (
        joined.with_only_columns(
            issue.entity_type, issue.qbo_id, func.max(issue.item_balance_cents).label("balance")
        )
        .where(shown, flag, payable)
        .group_by(issue.entity_type, issue.qbo_id)
        .subquery()
    )
    flagged = select(func.coalesce(func.sum(flagged_items.c.balance), 0))
    return counts, flagged


async def register_counts(
    session: RowReader,
    business_id: int,
    *,
    as_of: dt.date,
    since: dt.datetime,
    flag_severities: Iterable[str],
    entity: tuple[str, str] | None = None,
) -> tuple[dict[str, int], int, int]:
    """Worked out in the database from one business's open register entries: (open and not hidden by
    severity, how many of the hidden ones were dismissed or snoozed since `since`, the open balance of
    bills and invoices carrying an open issue of one of `flag_severities`). `entity` (entity type, QBO
    Id): only the entries about that one object, its share of each number."""
    counts_statement, flagged_statement = _register_count_statements(entity is not None)
    params: dict[str, Any] = {
        "business_id": business_id,
        "as_of": as_of,
        "since": since,
        "flag": list(flag_severities),
    }
    if entity is not None:
        params["entity_type"], params["qbo_id"] = entity
    counts = await session.execute(counts_statement, params)
    by_severity: dict[str, int] = {}
    hidden_since = 0
    largest: list[int] = []
    for severity, shown_count, hidden_count, flagged_balance in counts.all():
        by_severity[severity] = int(shown_count or 0)
        hidden_since += int(hidden_count or 0)
        if flagged_balance is not None:
            largest.append(int(flagged_balance))
    if entity is not None:
        # One object: the counts query already holds its flagged balance, spare the second statement.
        return by_severity, hidden_since, max(largest, default=0)
    flagged = await session.scalar(flagged_statement, params)
    return by_severity, hidden_since, int(flagged or 0)


async def register_details(
    session: RowReader, business_id: int, entry_ids: Iterable[int]
) -> dict[int, RegisterDetail]:
    """The wording, parameters and stored display of some of a business's register entries."""
    ids = list(entry_ids)
    if not ids:
        return {}
    rows = await session.execute(_details_by_id(), {"business_id": business_id, "ids": ids})
    return {row[0]: RegisterDetail(*row) for row in rows.all()}


@functools.cache
def _details_by_id() -> Any:
    issue = _tables()[0].c
    return select(
        issue.id, issue.forecast_effect, issue.fix_params, issue.fingerprint_fields, issue.display
    ).where(issue.business_id == bindparam("business_id"), issue.id.in_(bindparam("ids", expanding=True)))


async def resolved_since(
    session: RowReader, business_ids: Iterable[int], since: dt.datetime
) -> list[tuple[int, dt.datetime]]:
    """(business id, resolved at) of register entries resolved at or after `since`."""
    ids = list(business_ids)
    if not ids:
        return []
    rows = await session.execute(
        select(HygieneIssueRecord.business_id, HygieneIssueRecord.resolved_at).where(
            HygieneIssueRecord.business_id.in_(ids),
            HygieneIssueRecord.status == "resolved",
            HygieneIssueRecord.resolved_at >= since,
        )
    )
    return [(business_id, at) for business_id, at in rows.all() if at is not None]


async def poll_marker(session: AsyncSession, business_id: int) -> tuple[int | None, int]:
    """(newest succeeded sync run id, triage version): what the tray's poll compares, in two reads."""
    succeeded = await session.scalar(
        select(func.max(SyncRun.id)).where(SyncRun.business_id == business_id, SyncRun.status == "succeeded")
    )
    return succeeded, await triage_version(session, business_id)


async def triage_version(session: AsyncSession, business_id: int) -> int:
    """The business's triage version: raised by every dismissal, snooze, reopen and fix."""
    version = await session.scalar(_version_of(), {"business_id": business_id})
    return int(version or 0)


@functools.cache
def _version_of() -> Any:
    state = cast(Table, HygieneState.__table__)
    return select(state.c.version).where(state.c.business_id == bindparam("business_id"))


async def bump_state(
    session: AsyncSession,
    business_id: int,
    *,
    evaluated_run_id: int | None = None,
    increment: bool = True,
    reevaluate: bool = False,
    evaluated_on: dt.date | None = None,
    open_cents: int | None = None,
) -> None:
    """Increase the business's triage version and/or record the sync run the register was brought up to.

    `reevaluate` forgets that run, so the next read brings the register up to date again (a fix changed our
    copy of the books: other issues may have cleared with it).
    """
    state = await session.scalar(_state_row(), {"business_id": business_id})
    if state is None:
        state = HygieneState(business_id=business_id, version=0, evaluated_run_id=None)
        session.add(state)
    if increment:
        state.version = (state.version or 0) + 1
    if evaluated_run_id is not None:
        state.evaluated_run_id = evaluated_run_id
        state.evaluated_on = evaluated_on
        state.evaluated_at = utcnow()
        state.open_cents = open_cents
    if reevaluate:
        state.evaluated_run_id = None
    state.updated_at = utcnow()
    await session.flush()


async def store_summary(
    session: RowWriter, business_id: int, summary: Summary, *, version: int | None = None
) -> None:
    """Keep the business's latest summary; `version`: the state version it was worked out at, when the
    caller knows it and the summary carries its flagged balance (see `HygieneState.summary_version`).
    Callers store a summary only when it differs from the stored one: one UPDATE, or an INSERT for a
    business that has no state row yet."""
    values = {
        "open_high": summary.open_high,
        "open_medium": summary.open_medium,
        "open_low": summary.open_low,
        "cleared_week": summary.cleared_week,
        "score": summary.score,
        "summary_as_of": summary.as_of,
        "flagged_cents": summary.flagged_cents,
        "summary_version": version if summary.flagged_cents is not None else None,
        "updated_at": utcnow(),
    }
    params = {f"new_{name}": value for name, value in values.items()}
    result = await session.execute(_summary_update(), {"state_of": business_id, **params})
    if not getattr(result, "rowcount", 0):
        await _insert_state(session, business_id, version=0, **values)


async def _insert_state(session: RowWriter, business_id: int, **values: Any) -> None:
    """The first state row of a business (a Core INSERT, for the Core writers above and below)."""
    await session.execute(insert(cast(Table, HygieneState.__table__)), {"business_id": business_id, **values})


@functools.cache
def _summary_update() -> Any:
    state = cast(Table, HygieneState.__table__)
    columns = (
        "open_high",
        "open_medium",
        "open_low",
        "cleared_week",
        "score",
        "summary_as_of",
        "flagged_cents",
        "summary_version",
        "updated_at",
    )
    return (
        update(state)
        .where(state.c.business_id == bindparam("state_of"))
        .values({name: bindparam(f"new_{name}", type_=state.c[name].type) for name in columns})
    )


@dataclass(frozen=True, slots=True)
class TriageVersion:
    """A business's register state as a triage action's own version bump left it."""

    version: int
    open_cents: int | None
    summary: Summary | None
    summary_version: int | None


async def bump_triage_version(session: RowWriter, business_id: int) -> TriageVersion:
    """Raise the business's triage version (see `bump_state`) and answer the state it leaves: one UPDATE
    ... RETURNING, or an INSERT for a business that has no state row yet."""
    row = (await session.execute(_version_bump(), {"state_of": business_id, "now": utcnow()})).first()
    if row is None:
        # The business's first triage: its state row starts at version 1.
        await _insert_state(session, business_id, version=1, updated_at=utcnow())
        return TriageVersion(1, None, None, None)
    return TriageVersion(row.version, row.open_cents, _summary(row), row.summary_version)


@functools.cache
def _version_bump() -> Any:
    state = cast(Table, HygieneState.__table__)
    return (
        update(state)
        .where(state.c.business_id == bindparam("state_of"))
        .values(version=state.c.version + 1, updated_at=bindparam("now", type_=state.c.updated_at.type))
        .returning(*state.c)
    )


async def stored_summaries(session: AsyncSession, business_ids: Iterable[int]) -> dict[int, Summary]:
    """The stored summaries of several businesses (the caller has already scoped the ids to a user)."""
    ids = list(business_ids)
    if not ids:
        return {}
    rows = await session.scalars(select(HygieneState).where(HygieneState.business_id.in_(ids)))
    return {row.business_id: _summary(row) for row in rows}


def _summary(row: Any) -> Summary:
    """The summary columns of a state row (an ORM object or a Core row)."""
    return Summary(
        row.open_high,
        row.open_medium,
        row.open_low,
        row.cleared_week,
        row.score,
        row.summary_as_of,
        row.flagged_cents,
    )


async def put_dismissal(
    session: RowWriter, business_id: int, key: IssueKey, *, fingerprint: str, user_id: int | None
) -> None:
    """Dismiss (again): one upsert on the issue's key."""
    params = {**_key_params(business_id, key), "fingerprint": fingerprint, "user_id": user_id}
    await session.execute(
        _upsert(dialect_of(session), HygieneDismissal, ("fingerprint", "user_id")),
        {**params, "note": None, "created_at": utcnow()},
    )


async def delete_dismissal(session: RowWriter, business_id: int, key: IssueKey) -> bool:
    result = await session.execute(_delete_by_key(HygieneDismissal), _key_params(business_id, key))
    return bool(getattr(result, "rowcount", 0))


async def delete_dismissals(session: AsyncSession, business_id: int, keys: Iterable[IssueKey]) -> None:
    for key in keys:
        await delete_dismissal(session, business_id, key)


async def put_snooze(
    session: RowWriter,
    business_id: int,
    key: IssueKey,
    *,
    until: dt.date,
    reason: str | None,
    user_id: int | None,
) -> None:
    """Snooze (again): one upsert on the issue's key."""
    params = {**_key_params(business_id, key), "until": until, "reason": reason, "user_id": user_id}
    await session.execute(
        _upsert(dialect_of(session), HygieneSnooze, ("until", "reason", "user_id")),
        {**params, "created_at": utcnow()},
    )


@functools.cache
def _upsert(dialect: str, model: Any, replaced: tuple[str, ...]) -> Any:
    """INSERT of a triage row keyed by (business, rule, entity type, QBO Id) that, when the key is taken,
    replaces the `replaced` columns and the time instead (built once per dialect and model)."""
    table = model.__table__
    insert = dialect_insert(dialect)
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.business_id, table.c.rule, table.c.entity_type, table.c.qbo_id],
        set_={name: statement.excluded[name] for name in (*replaced, "created_at")},
    )


async def delete_snooze(session: RowWriter, business_id: int, key: IssueKey) -> bool:
    result = await session.execute(_delete_by_key(HygieneSnooze), _key_params(business_id, key))
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


REGISTER_ISSUE_FIELDS = (
    "severity",
    "amount_cents",
    "fingerprint",
    "forecast_effect",
    "fix",
    "fix_params",
    "fingerprint_fields",
    "item_balance_cents",
)


async def add_seen_issues(
    session: AsyncSession, business_id: int, issues: Iterable[tuple[IssueKey, dict[str, Any]]]
) -> None:
    """Register issues seen for the first time: (key, values of REGISTER_ISSUE_FIELDS), in one flush."""
    rows = [
        HygieneIssueRecord(
            business_id=business_id,
            rule=rule,
            entity_type=entity_type,
            qbo_id=qbo_id,
            status="open",
            **{name: values.get(name) for name in REGISTER_ISSUE_FIELDS},
        )
        for (rule, entity_type, qbo_id), values in issues
    ]
    if rows:
        session.add_all(rows)
        await session.flush()


async def update_seen_issues(
    session: AsyncSession, business_id: int, issues: Iterable[tuple[int, dict[str, Any]]]
) -> None:
    """Refresh open entries with the issue as detected now: (entry id, values of REGISTER_ISSUE_FIELDS),
    as one statement executed with every row."""
    table = cast(Table, HygieneIssueRecord.__table__)
    params = [
        {"b_id": entry_id, **{f"b_{name}": values.get(name) for name in REGISTER_ISSUE_FIELDS}}
        for entry_id, values in issues
    ]
    if not params:
        return
    stmt = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.business_id == business_id)
        .values({name: bindparam(f"b_{name}") for name in REGISTER_ISSUE_FIELDS})
    )
    await session.execute(stmt, params)


async def clear_displays(session: AsyncSession, business_id: int) -> None:
    """Forget every stored row display of the business (its books or its date changed)."""
    await session.execute(
        update(HygieneIssueRecord)
        .where(HygieneIssueRecord.business_id == business_id, HygieneIssueRecord.display.is_not(None))
        .values(display=null())
    )


async def store_displays(
    session: AsyncSession,
    business_id: int,
    displays: Iterable[tuple[IssueKey, dict[str, Any]]],
    *,
    only_missing: bool = False,
) -> None:
    """Keep what rows show (entity label, runway delta, link targets) with their open register entries;
    `only_missing` leaves entries that already hold one alone."""
    table = cast(Table, HygieneIssueRecord.__table__)
    params = [
        {"b_rule": rule, "b_entity_type": entity_type, "b_qbo_id": qbo_id, "b_display": display}
        for (rule, entity_type, qbo_id), display in displays
    ]
    if not params:
        return
    criteria = [
        table.c.business_id == business_id,
        table.c.rule == bindparam("b_rule"),
        table.c.entity_type == bindparam("b_entity_type"),
        table.c.qbo_id == bindparam("b_qbo_id"),
    ]
    if only_missing:
        criteria.append(table.c.display.is_(None))
    stmt = update(table).where(*criteria).values(display=bindparam("b_display"))
    await session.execute(stmt, params)


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
