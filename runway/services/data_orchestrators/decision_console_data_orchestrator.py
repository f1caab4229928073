"""Data orchestrator: the Decision Console — the per-business decision queue in tables, and finalize.

Holds no state: every decision, finalize batch and flag lives in the `domains.decisions` tables, and each
method opens its own short transaction. Changing an item's decision is compare-and-set on the version the
caller saw, so two tabs or two app instances never lose a decision; a stale write raises
`StaleDecisionError` carrying the item's current decision.

Finalize runs one item per `finalize_step` call: the item is claimed with a lease, QBO is written outside
any transaction with the decision's idempotency key as `requestid` (stored when the decision was made),
and the outcome is recorded in one short transaction. A step that dies half-way leaves its item running
with a lease; once the lease expires the next step takes it over and sends the same `requestid`, so QBO
replays its first answer instead of acting twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domains.ap.models import Bill
from domains.ar.models import Invoice
from domains.core import foreground
from domains.core import repository as core
from domains.core.data_versions import data_versions, versions_after
from domains.core.db import Database, utcnow
from domains.decisions import models as m
from domains.decisions import repository as repo
from domains.qbo import repository as qbo_repo
from domains.qbo.clock import Clock
from domains.qbo.errors import QboError
from domains.qbo.smart_sync import ConflictError, SmartSyncService, new_request_id
from domains.qbo.tokens import NotConnectedError, ReconnectNeededError
from domains.synced import get_entity
from runway.services.calculators.priority_calculator import IssueRef
from runway.services.calculators.snapshots import BusinessSnapshot, PlannedDate
from runway.services.data_orchestrators.books_cache import BooksCache, is_refreshing
from runway.services.data_orchestrators.business_snapshot import (
    cached_business_snapshot,
    load_business_snapshot,
    previous_books,
)
from runway.services.data_orchestrators.hygiene_tray_data_orchestrator import HygieneTrayDataOrchestrator

log = structlog.get_logger("runway.console")

# A finalize step that has not finished within this long is presumed dead and its item is taken over.
ITEM_LEASE = dt.timedelta(minutes=5)
# Decisions that shape the plan (the forecast's planned dates): everything but undone and failed ones.
PLAN_STATUSES = frozenset({m.PROPOSED, m.APPROVED, m.EXECUTING, m.DONE, m.CONFLICT})
# Decisions waiting in the queue (the header's "these N decisions"): the plan minus what is done.
QUEUED_STATUSES = frozenset({m.PROPOSED, m.APPROVED, m.EXECUTING, m.CONFLICT})
# A decision can be replaced or undone until finalize has taken it.
OPEN_STATUSES = (m.PROPOSED, m.APPROVED, m.FAILED, m.CONFLICT)
# Where QBO e-mails each open invoice, per business and books stamp (read on every console request).
_BILL_EMAILS: BooksCache[dict[str, str | None]] = BooksCache(size=16)
# Each business's newest queue state, with the console stamp it is valid under; a decision written here is
# patched in, so the next keypress reads two stamps instead of every decision. One state a business: each
# holds every current decision, and states kept per stamp (one per keypress) were so many copies of them.
_QUEUE_STATE: BooksCache[tuple[str, _QueueState]] = BooksCache(size=16)
# Each business's blocking hygiene issues, under its books stamp, triage version and date.
_BLOCKS: BooksCache[tuple[IssueRef, ...]] = BooksCache(size=16)


def _cached_queue(business_id: int, markers: repo.ConsoleMarkers) -> _QueueState | None:
    stamp = markers.console_stamp
    kept = _QUEUE_STATE.get(business_id) if stamp else None
    return kept[1] if kept is not None and kept[0] == stamp else None


def _cached_bill_emails(business_id: int, markers: repo.ConsoleMarkers) -> dict[str, str | None] | None:
    stamp = markers.books_stamp
    return _BILL_EMAILS.get((business_id, stamp)) if stamp is not None else None


class StaleDecisionError(Exception):
    """The item's decision changed since the caller looked; `current` is what it is now (or None)."""

    def __init__(self, current: DecisionRecord | None, reason: str) -> None:
        super().__init__(reason)
        self.current = current
        self.reason = reason


class BatchNotFoundError(LookupError):
    """No finalize batch with that id in this business."""


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One row of the decision log, as the experience sees it (never an ORM object)."""

    id: int
    entity_type: str
    qbo_id: str
    party_qbo_id: str | None
    party_name: str | None
    doc_number: str | None
    amount_cents: int
    currency: str
    verb: str
    parameters: Mapping[str, Any] = field(hash=False)
    planned_on: dt.date | None
    status: str
    is_current: bool
    replaces_id: int | None
    idempotency_key: str
    delta_runway_days: int | None
    delta_direction: str
    new_cash_zero_date: dt.date | None
    new_lowest_cash_cents: int
    days_past_terms: int | None
    decided_on: dt.date
    decided_by: int | None
    decided_by_label: str
    decided_at: dt.datetime
    approved_by: int | None
    approved_by_label: str
    approved_at: dt.datetime | None
    batch_id: int | None
    executed_at: dt.datetime | None
    finalized_on: dt.date | None
    result_message: str | None
    result_qbo_id: str | None
    qbo_current: Mapping[str, Any] | None = field(hash=False)
    version: int

    @property
    def seen(self) -> str:
        """The token a client sends back to say which version of this decision it saw."""
        return f"{self.id}.{self.version}"


@dataclass(frozen=True, slots=True)
class NewDecision:
    """What the experience decided to record: the item, the verb, its parameters and its deltas."""

    entity_type: str
    qbo_id: str
    party_qbo_id: str | None
    party_name: str | None
    doc_number: str | None
    amount_cents: int
    currency: str
    verb: str
    parameters: Mapping[str, Any]
    planned_on: dt.date | None
    status: str
    delta_runway_days: int | None
    delta_direction: str
    new_cash_zero_date: dt.date | None
    new_lowest_cash_cents: int
    days_past_terms: int | None
    decided_on: dt.date


@dataclass(frozen=True, slots=True)
class BatchItemRecord:
    decision_id: int
    entity_type: str
    qbo_id: str
    party_name: str | None
    doc_number: str | None
    verb: str
    outcome: str
    message: str | None
    qbo_result_id: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """A finalize batch and where each of its items stands."""

    batch_id: int
    status: str
    as_of: dt.date
    started_by_label: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    items: tuple[BatchItemRecord, ...]

    def count(self, *outcomes: str) -> int:
        return sum(1 for item in self.items if item.outcome in outcomes)

    @property
    def finished(self) -> bool:
        return self.status == "finished"


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one finalize step did: the decision it finished (if any) and the batch afterwards."""

    progress: BatchProgress
    decision: DecisionRecord | None
    waiting: bool


@dataclass(frozen=True, slots=True)
class ConsoleData:
    """Everything one console request reads, from one read transaction (plus the open hygiene issues)."""

    business_id: int
    business_name: str
    timezone: str
    as_of: dt.date
    snapshot: BusinessSnapshot
    # The books' data-version stamp the snapshot belongs to (None: never synced): a key for derived caches.
    books_stamp: str | None
    # Each item's current decision, by (entity type, QBO Id).
    current: Mapping[tuple[str, str], DecisionRecord] = field(hash=False)
    # The current decisions that shape the forecast (`in_plan`): a key for kept plans.
    plan_key: DecisionSetKey
    # Every current decision: a key for what is counted from them.
    current_key: DecisionSetKey
    critical_vendor_ids: frozenset[str]
    open_issues: tuple[IssueRef, ...]
    pay_run_weekday: int
    batch: BatchProgress | None
    connected: bool
    # Where QBO e-mails each open invoice (BillEmail), for the chase verb.
    bill_emails: Mapping[str, str | None] = field(hash=False)


_MASK64 = (1 << 64) - 1


def _pair_hashes(decision_id: int, version: int) -> tuple[int, int]:
    return hash((decision_id, version)) & _MASK64, hash((version, decision_id, 0x5BD1E995)) & _MASK64


@dataclass(frozen=True, slots=True)
class DecisionSetKey:
    """A cache key for a set of decisions (their id and version): equal sets give equal keys, and adding
    or removing one decision moves the key in constant time.

    It replaced a frozenset of (id, version) pairs, which every keypress copied (thousands of pairs), and
    of which the caches kept dozens: the garbage collector walked each of them, every few hundred
    milliseconds, in the middle of the keypresses. Two different sets share a key only if their sizes and
    two independent 64-bit sums of hashes all agree."""

    count: int = 0
    total: int = 0
    mixed: int = 0

    @classmethod
    def of(cls, decisions: Iterable[DecisionRecord]) -> DecisionSetKey:
        return cls.of_pairs((d.id, d.version) for d in decisions)

    @classmethod
    def of_pairs(cls, pairs: Iterable[tuple[int, int]]) -> DecisionSetKey:
        count = total = mixed = 0
        for decision_id, version in pairs:
            first, second = _pair_hashes(decision_id, version)
            count, total, mixed = count + 1, total + first, mixed ^ second
        return cls(count, total & _MASK64, mixed)

    def with_(self, decision: DecisionRecord) -> DecisionSetKey:
        """This set and `decision`, which it does not hold."""
        first, second = _pair_hashes(decision.id, decision.version)
        return DecisionSetKey(self.count + 1, (self.total + first) & _MASK64, self.mixed ^ second)

    def without(self, decision: DecisionRecord) -> DecisionSetKey:
        """This set less `decision`, which it holds."""
        first, second = _pair_hashes(decision.id, decision.version)
        return DecisionSetKey(self.count - 1, (self.total - first) & _MASK64, self.mixed ^ second)


@dataclass(frozen=True, slots=True)
class _QueueState:
    """What the decision queue holds besides the books: current decisions, flags, settings, finalize."""

    current: Mapping[tuple[str, str], DecisionRecord]
    plan_key: DecisionSetKey
    current_key: DecisionSetKey
    critical_vendor_ids: frozenset[str]
    pay_run_weekday: int
    batch: BatchProgress | None

    @classmethod
    def of(
        cls,
        decisions: Iterable[DecisionRecord],
        critical_vendor_ids: frozenset[str],
        pay_run_weekday: int,
        batch: BatchProgress | None,
    ) -> _QueueState:
        current = {(d.entity_type, d.qbo_id): d for d in decisions if d.is_current}
        plan_key = DecisionSetKey.of(plan_decisions(current.values()))
        current_key = DecisionSetKey.of(current.values())
        return cls(current, plan_key, current_key, critical_vendor_ids, pay_run_weekday, batch)

    def with_current(self, record: DecisionRecord) -> _QueueState:
        """This state after `record` became its item's current decision (replacing the one before)."""
        moved = with_decision(self.current, self.plan_key, self.current_key, record)
        return _QueueState(
            moved.current,
            moved.plan_key,
            moved.current_key,
            self.critical_vendor_ids,
            self.pay_run_weekday,
            self.batch,
        )


@dataclass(frozen=True, slots=True)
class MovedQueue:
    """Current decisions and their keys after one decision became its item's current one."""

    current: Mapping[tuple[str, str], DecisionRecord]
    plan_key: DecisionSetKey
    current_key: DecisionSetKey
    # The decision it replaced, if the item had one.
    replaced: DecisionRecord | None


def with_decision(
    current: Mapping[tuple[str, str], DecisionRecord],
    plan_key: DecisionSetKey,
    current_key: DecisionSetKey,
    record: DecisionRecord,
) -> MovedQueue:
    """`record` made its item's current decision: copies in C rather than passes in Python (a keypress on a
    queue of thousands of decisions)."""
    key = (record.entity_type, record.qbo_id)
    moved = dict(current)
    replaced = moved.get(key)
    moved[key] = record
    if replaced is not None:
        if in_plan(replaced):
            plan_key = plan_key.without(replaced)
        current_key = current_key.without(replaced)
    if in_plan(record):
        plan_key = plan_key.with_(record)
    return MovedQueue(moved, plan_key, current_key.with_(record), replaced)


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: str
    message: str
    qbo_result_id: str | None = None
    qbo_current: dict[str, Any] | None = None


def _record(row: Any, labels: Mapping[int, str]) -> DecisionRecord:
    """A decision from its ORM object or its plain row (both have the columns as attributes)."""
    return DecisionRecord(
        id=row.id,
        entity_type=row.entity_type,
        qbo_id=row.qbo_id,
        party_qbo_id=row.party_qbo_id,
        party_name=row.party_name,
        doc_number=row.doc_number,
        amount_cents=row.amount_cents,
        currency=row.currency,
        verb=row.verb,
        parameters=dict(row.parameters or {}),
        planned_on=row.planned_on,
        status=row.status,
        is_current=row.is_current,
        replaces_id=row.replaces_id,
        idempotency_key=row.idempotency_key,
        delta_runway_days=row.delta_runway_days,
        delta_direction=row.delta_direction,
        new_cash_zero_date=row.new_cash_zero_date,
        new_lowest_cash_cents=row.new_lowest_cash_cents,
        days_past_terms=row.days_past_terms,
        decided_on=row.decided_on,
        decided_by=row.decided_by,
        decided_by_label=labels.get(row.decided_by, "") if row.decided_by is not None else "",
        decided_at=row.decided_at,
        approved_by=row.approved_by,
        approved_by_label=labels.get(row.approved_by, "") if row.approved_by is not None else "",
        approved_at=row.approved_at,
        batch_id=row.batch_id,
        executed_at=row.executed_at,
        finalized_on=row.finalized_on,
        result_message=row.result_message,
        result_qbo_id=row.result_qbo_id,
        qbo_current=dict(row.qbo_current) if row.qbo_current is not None else None,
        version=row.version,
    )


async def _records(session: Any, rows: Iterable[Any]) -> tuple[DecisionRecord, ...]:
    rows = list(rows)
    labels = await repo.user_labels(session, [u for r in rows for u in (r.decided_by, r.approved_by)])
    records: list[DecisionRecord] = []
    for start in range(0, len(rows), _RECORDS_PER_TURN):
        if start:  # thousands of decisions: turns of the event loop for the requests being served
            await foreground.yield_to_requests()
        records += [_record(row, labels) for row in rows[start : start + _RECORDS_PER_TURN]]
    return tuple(records)


_RECORDS_PER_TURN = 200


def _patch_queue_state(
    business_id: int, before: str | None, after: str | None, record: DecisionRecord
) -> None:
    """Keep the cached queue state current after one decision of ours: the state under the stamp our write
    started from (held locked), with `record` in, is exactly the state under the stamp it committed."""
    kept = _QUEUE_STATE.get(business_id) if before is not None else None
    if kept is not None and kept[0] == before and after is not None:
        _QUEUE_STATE.put(business_id, (after, kept[1].with_current(record)))


def _summary(record: DecisionRecord | None) -> dict[str, Any] | None:
    """A decision as the audit log keeps it."""
    if record is None:
        return None
    return {
        "decision_id": record.id,
        "verb": record.verb,
        "status": record.status,
        "planned_on": record.planned_on.isoformat() if record.planned_on else None,
        "parameters": dict(record.parameters),
        "version": record.version,
    }


def _cents_to_decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _decimal_to_cents(value: Any) -> int | None:
    try:
        return int((Decimal(str(value)) * 100).to_integral_value())
    except (ArithmeticError, ValueError, TypeError):
        return None


def in_plan(decision: DecisionRecord) -> bool:
    """Whether the decision shapes the forecast (current, and not undone or failed)."""
    return decision.is_current and decision.status in PLAN_STATUSES


def plan_decisions(decisions: Iterable[DecisionRecord]) -> tuple[DecisionRecord, ...]:
    """The current decisions that shape the forecast (not undone, not failed, not replaced)."""
    return tuple(d for d in decisions if in_plan(d))


def planned_dates_of(decisions: Iterable[DecisionRecord]) -> tuple[tuple[PlannedDate, ...], tuple[str, ...]]:
    """Planned pay dates of bills and the chased invoices of the plan, oldest decision first."""
    planned: list[PlannedDate] = []
    chased: list[str] = []
    for decision in plan_decisions(decisions):
        if decision.verb == "chase" and decision.entity_type == "invoice":
            chased.append(decision.qbo_id)
        elif decision.planned_on is not None and decision.entity_type == "bill":
            planned.append(PlannedDate("bill", decision.qbo_id, decision.planned_on))
    return tuple(planned), tuple(chased)


class DecisionConsoleDataOrchestrator:
    """Reads and changes one business's decision queue; executes finalize through SmartSync."""

    def __init__(
        self, db: Database, smart_sync: SmartSyncService | None = None, *, clock: Clock | None = None
    ) -> None:
        self.db = db
        self.smart_sync = smart_sync
        self.clock = clock or (smart_sync.clock if smart_sync is not None else None)

    def _now(self) -> dt.datetime:
        return self.clock.now() if self.clock is not None else utcnow()

    # --- reading --------------------------------------------------------------------------------

    async def load(
        self,
        business_id: int,
        *,
        as_of_for: Callable[[str], dt.date],
        for_refresh: bool = False,
    ) -> ConsoleData:
        """The snapshot, the current decisions, flags, settings and any running finalize of a business.

        Args:
            business_id: The business.
            as_of_for: Gives the business-local "today" from the business's time zone.
            for_refresh: For the refresh after a sync: the books as they are now (otherwise, while that
                refresh runs, the books of just before do, see `_previous_books`), of which only what is
                derived from the books will be used, so the decision queue kept here will do, whichever
                moment it is of.
        """
        # Between syncs and other tabs' decisions everything but the markers is cached under them: one
        # short read then. Otherwise all is read again in one transaction, markers included.
        async with self.db.quick_read() as reader:
            markers = await repo.console_markers(reader, business_id)
        if markers is None:
            raise LookupError(business_id)
        previous = (
            None
            if for_refresh
            else await self._previous_books(business_id, markers, as_of_for(markers.timezone))
        )
        stamp: str | None
        if previous is not None:
            stamp, snapshot, queue, bill_emails, open_issues = previous
            triage, timezone = markers.triage_version, markers.timezone
            as_of = as_of_for(timezone)
        else:
            cached = self._cached(business_id, markers)
            if cached is not None:
                snapshot, queue, bill_emails = cached
            else:
                markers, snapshot, queue, bill_emails = await self._read_console(
                    business_id, kept_queue_will_do=for_refresh
                )
            stamp, triage, timezone = markers.books_stamp, markers.triage_version, markers.timezone
            as_of = as_of_for(timezone)
            open_issues = await self._blocking_issues(business_id, as_of, stamp, triage)
        return ConsoleData(
            business_id=business_id,
            business_name=markers.name,
            timezone=timezone,
            as_of=as_of,
            snapshot=snapshot,
            books_stamp=stamp,
            current=queue.current,
            plan_key=queue.plan_key,
            current_key=queue.current_key,
            critical_vendor_ids=queue.critical_vendor_ids,
            open_issues=open_issues,
            pay_run_weekday=queue.pay_run_weekday,
            batch=queue.batch,
            connected=markers.connected,
            bill_emails=bill_emails,
        )

    async def _previous_books(
        self, business_id: int, markers: repo.ConsoleMarkers, as_of: dt.date
    ) -> tuple[str, BusinessSnapshot, _QueueState, dict[str, str | None], tuple[IssueRef, ...]] | None:
        """The books as they were just before a sync, with everything the console derives from them, for
        as long as the refresh after that sync is working the new ones out (`books_cache.refreshing`).

        Without this, the first keypress after a sync read the new books and brought the hygiene register
        up to date itself (more than a second for a large company) while the refresh did the same, and
        every keypress behind it waited. The decisions are always the current ones; only the figures
        shown are the books of a moment ago, and only when all of it is still cached. None otherwise."""
        stamp = markers.books_stamp
        if not is_refreshing(business_id) or stamp is None:
            return None
        # Until the refresh is over, even when the new snapshot is read: what the console works out from
        # it (forecast, queue) is ready only at the refresh's end.
        previous = previous_books(business_id, markers.name, stamp)
        if previous is None:
            return None
        previous_stamp, snapshot = previous
        bill_emails = _BILL_EMAILS.get((business_id, previous_stamp))
        blocks = _BLOCKS.get((business_id, previous_stamp, markers.triage_version, as_of))
        if bill_emails is None or blocks is None:
            return None
        queue = _cached_queue(business_id, markers)
        if queue is None:  # the decisions are not books: always the current ones
            async with self.db.read() as session:
                queue = await self._queue_state(session, business_id, markers.console_stamp)
        return previous_stamp, snapshot, queue, bill_emails, blocks

    @staticmethod
    def _cached(
        business_id: int, markers: repo.ConsoleMarkers
    ) -> tuple[BusinessSnapshot, _QueueState, dict[str, str | None]] | None:
        """Everything `load` needs besides the markers, when all of it is cached under them."""
        snapshot = cached_business_snapshot(business_id, markers.books_stamp, markers.name)
        queue, bill_emails = _cached_queue(business_id, markers), _cached_bill_emails(business_id, markers)
        if snapshot is None or queue is None or bill_emails is None:
            return None
        return snapshot, queue, bill_emails

    async def _read_console(
        self, business_id: int, *, kept_queue_will_do: bool = False
    ) -> tuple[repo.ConsoleMarkers, BusinessSnapshot, _QueueState, dict[str, str | None]]:
        """The markers and what is derived under them, read in one transaction (and cached).

        `kept_queue_will_do`: the queue state kept for the business is taken whatever its stamp. Reading
        the new books after a sync takes turns with keypresses for half a second, each of which moves the
        queue's stamp on; the state under the stamp read first was gone by then, and the whole queue was
        read again, holding the event loop for up to 20 ms at a time, only to be dropped."""
        async with self.db.read() as session:
            markers = await repo.console_markers(session, business_id)
            if markers is None:
                raise LookupError(business_id)
            stamp = markers.books_stamp
            snapshot = await load_business_snapshot(session, business_id, stamp=stamp, name=markers.name)
            queue = _cached_queue(business_id, markers)
            if queue is None and kept_queue_will_do:
                kept = _QUEUE_STATE.get(business_id)
                queue = kept[1] if kept is not None else None
            if queue is None:
                queue = await self._queue_state(session, business_id, markers.console_stamp)
            bill_emails = _cached_bill_emails(business_id, markers)
            if bill_emails is None:
                emails = await session.execute(
                    select(Invoice.qbo_id, Invoice.bill_email).where(
                        Invoice.business_id == business_id, Invoice.balance_cents > 0
                    )
                )
                bill_emails = {qbo_id: email for qbo_id, email in emails}
                if stamp is not None:
                    _BILL_EMAILS.put((business_id, stamp), bill_emails)
        return markers, snapshot, queue, bill_emails

    async def _queue_state(self, session: Any, business_id: int, stamp: str | None) -> _QueueState:
        """The decision queue's own state as the database holds it (kept under its stamp when it has one).

        Kept only if no other state was kept for the business meanwhile: a read outside a request (the
        refresh after a sync) takes turns with keypresses, each of which keeps the state it committed, and
        this older one would replace theirs; the next keypress then read the whole queue again (130 ms for
        10,000 decisions) while the keypresses behind it waited."""
        kept_before = _QUEUE_STATE.get(business_id)
        batch_row = await repo.running_batch(session, business_id)
        state = _QueueState.of(
            await _records(session, await repo.current_decision_rows(session, business_id)),
            frozenset(await repo.critical_vendor_ids(session, business_id)),
            await repo.pay_run_weekday(session, business_id),
            await self._progress(session, business_id, batch_row) if batch_row is not None else None,
        )
        if stamp is not None and _QUEUE_STATE.get(business_id) is kept_before:
            _QUEUE_STATE.put(business_id, (stamp, state))
        return state

    async def _blocking_issues(
        self, business_id: int, as_of: dt.date, stamp: str | None, triage: int
    ) -> tuple[IssueRef, ...]:
        """Open high-severity hygiene issues on bills and invoices (they block items), from the register.

        They change only with the books, the triage version (dismiss, snooze, reopen, fix) and the day
        (a snooze ends), so they are kept under those.
        """
        key = (business_id, stamp, triage, as_of)
        cached = _BLOCKS.get(key) if stamp is not None else None
        if cached is None:
            hygiene = HygieneTrayDataOrchestrator(self.db, self.smart_sync)
            cached = await hygiene.blocking_issues(business_id)
            if stamp is not None:
                _BLOCKS.put(key, cached)
        return cached

    async def current_decisions(self, business_id: int) -> tuple[DecisionRecord, ...]:
        async with self.db.read() as session:
            return await _records(session, await repo.current_decision_rows(session, business_id))

    async def planned_dates(self, business_id: int) -> tuple[tuple[PlannedDate, ...], tuple[str, ...]]:
        """Planned pay dates and chased invoice ids of the active decisions, for every runway forecast.

        Active means current and not undone, replaced or failed; skip decisions plan nothing.
        """
        return planned_dates_of(await self.current_decisions(business_id))

    async def decision_log(self, business_id: int) -> tuple[DecisionRecord, ...]:
        """Every decision of the business, oldest first (for the CSV export)."""
        async with self.db.read() as session:
            return await _records(session, await repo.list_decisions(session, business_id))

    # --- changing decisions ---------------------------------------------------------------------

    async def record_decision(
        self,
        business_id: int,
        new: NewDecision,
        *,
        seen: tuple[int, int] | None,
        user_id: int,
        user_label: str | None = None,
    ) -> DecisionRecord:
        """Make `new` the item's current decision, if the item's decision is still the one `seen`.

        `user_label`: how the deciding user is named, when the caller knows (else it is read).

        Raises:
            StaleDecisionError: Someone changed the item's decision since (or finalize has it).
        """
        try:
            async with self.db.quick_write() as session:
                before = await data_versions(session, business_id, lock=True)
                current = await repo.current_decision_for(session, business_id, new.entity_type, new.qbo_id)
                await self._check_seen(session, current, seen)
                if current is not None:
                    if current.status == m.EXECUTING:
                        raise StaleDecisionError(
                            (await _records(session, [current]))[0], "finalize is executing this decision"
                        )
                    if not await repo.change_decision(
                        session, business_id, current.id, current.version, is_current=False
                    ):
                        raise StaleDecisionError(None, "the decision changed while it was being replaced")
                now = utcnow()
                row = await repo.add_decision(
                    session,
                    business_id,
                    entity_type=new.entity_type,
                    qbo_id=new.qbo_id,
                    party_qbo_id=new.party_qbo_id,
                    party_name=new.party_name,
                    doc_number=new.doc_number,
                    amount_cents=new.amount_cents,
                    currency=new.currency,
                    verb=new.verb,
                    parameters=dict(new.parameters),
                    planned_on=new.planned_on,
                    status=new.status,
                    replaces_id=current.id if current is not None else None,
                    idempotency_key=new_request_id(),
                    delta_runway_days=new.delta_runway_days,
                    delta_direction=new.delta_direction,
                    new_cash_zero_date=new.new_cash_zero_date,
                    new_lowest_cash_cents=new.new_lowest_cash_cents,
                    days_past_terms=new.days_past_terms,
                    decided_on=new.decided_on,
                    decided_by=user_id,
                    decided_at=now,
                    approved_by=user_id if new.status == m.APPROVED else None,
                    approved_at=now if new.status == m.APPROVED else None,
                    updated_at=now,
                )
                if user_label is None:
                    record = (await _records(session, [row]))[0]
                else:
                    record = _record(row, {user_id: user_label})
                previous = _record(current, {}) if current is not None else None  # for the audit only
                await core.add_audit_entry(
                    session,
                    action=f"decision.{new.status}",
                    business_id=business_id,
                    user_id=user_id,
                    entity_type=new.entity_type,
                    entity_id=new.qbo_id,
                    before=_summary(previous),
                    after=_summary(record),
                    request_id=record.idempotency_key,
                )
                after = versions_after(session, business_id, before)
        except IntegrityError:
            # Two writers both saw "no decision" and raced to insert one; the unique index let one win.
            raise StaleDecisionError(
                await self._current(business_id, new.entity_type, new.qbo_id),
                "someone else decided this item at the same time",
            ) from None
        _patch_queue_state(business_id, before.console, after.console, record)
        return record

    async def approve(
        self, business_id: int, entity_type: str, qbo_id: str, *, seen: tuple[int, int] | None, user_id: int
    ) -> DecisionRecord:
        """Approve the item's proposed decision (or re-approve a failed or conflicting one to retry it)."""
        async with self.db.write(small=True) as session:
            before = await data_versions(session, business_id, lock=True)
            current = await repo.current_decision_for(session, business_id, entity_type, qbo_id)
            await self._check_seen(session, current, seen)
            if current is None or current.status not in (m.PROPOSED, m.FAILED, m.CONFLICT):
                record = (await _records(session, [current]))[0] if current is not None else None
                raise StaleDecisionError(record, "there is no proposed decision to approve")
            previous = (await _records(session, [current]))[0]
            now = utcnow()
            if not await repo.change_decision(
                session,
                business_id,
                current.id,
                current.version,
                status=m.APPROVED,
                approved_by=user_id,
                approved_at=now,
            ):
                raise StaleDecisionError(None, "the decision changed while it was being approved")
            row = await repo.get_decision(session, business_id, current.id)
            assert row is not None
            await session.refresh(row)
            record = (await _records(session, [row]))[0]
            await core.add_audit_entry(
                session,
                action="decision.approve",
                business_id=business_id,
                user_id=user_id,
                entity_type=entity_type,
                entity_id=qbo_id,
                before=_summary(previous),
                after=_summary(record),
                request_id=record.idempotency_key,
            )
            after = versions_after(session, business_id, before)
        _patch_queue_state(business_id, before.console, after.console, record)
        return record

    async def undo_last(
        self, business_id: int, *, user_id: int
    ) -> tuple[DecisionRecord, DecisionRecord | None] | None:
        """Undo this user's newest decision that finalize has not taken; bring back the one it replaced.

        Returns:
            (the undone decision, the restored one or None), or None when there is nothing to undo.
        """
        async with self.db.write(small=True) as session:
            last = await repo.last_undoable_by(session, business_id, user_id, OPEN_STATUSES)
            if last is None:
                return None
            if not await repo.change_decision(
                session, business_id, last.id, last.version, status=m.UNDONE, is_current=False
            ):
                raise StaleDecisionError(None, "the decision changed while it was being undone")
            restored_row = None
            if last.replaces_id is not None:
                previous = await repo.get_decision(session, business_id, last.replaces_id)
                restorable = previous is not None and not previous.is_current and previous.status != m.UNDONE
                if (
                    restorable
                    and previous is not None
                    and await repo.change_decision(
                        session, business_id, previous.id, previous.version, is_current=True
                    )
                ):
                    restored_row = await repo.get_decision(session, business_id, previous.id)
            undone_row = await repo.get_decision(session, business_id, last.id)
            assert undone_row is not None
            await session.refresh(undone_row)
            if restored_row is not None:
                await session.refresh(restored_row)
            undone = (await _records(session, [undone_row]))[0]
            restored = (await _records(session, [restored_row]))[0] if restored_row is not None else None
            await core.add_audit_entry(
                session,
                action="decision.undo",
                business_id=business_id,
                user_id=user_id,
                entity_type=undone.entity_type,
                entity_id=undone.qbo_id,
                before=_summary(undone),
                after=_summary(restored),
                request_id=undone.idempotency_key,
            )
            return undone, restored

    async def _check_seen(self, session: Any, current: Any, seen: tuple[int, int] | None) -> None:
        actual = (current.id, current.version) if current is not None else None
        if actual != seen:
            record = (await _records(session, [current]))[0] if current is not None else None
            raise StaleDecisionError(record, "someone else changed this item's decision")

    async def _current(self, business_id: int, entity_type: str, qbo_id: str) -> DecisionRecord | None:
        async with self.db.read() as session:
            row = await repo.current_decision_for(session, business_id, entity_type, qbo_id)
            return (await _records(session, [row]))[0] if row is not None else None

    # --- flags and settings ---------------------------------------------------------------------

    async def set_vendor_critical(
        self, business_id: int, vendor_qbo_id: str, *, critical: bool, user_id: int
    ) -> bool:
        async with self.db.write() as session:
            changed = await repo.set_critical_vendor(
                session, business_id, vendor_qbo_id, critical=critical, user_id=user_id
            )
            if changed:
                await core.add_audit_entry(
                    session,
                    action="decision.vendor.critical" if critical else "decision.vendor.not_critical",
                    business_id=business_id,
                    user_id=user_id,
                    entity_type="Vendor",
                    entity_id=vendor_qbo_id,
                    after={"critical": critical},
                )
            return changed

    async def set_pay_run_weekday(self, business_id: int, weekday: int, *, user_id: int) -> None:
        async with self.db.write() as session:
            before = await repo.pay_run_weekday(session, business_id)
            await repo.set_pay_run_weekday(session, business_id, weekday, user_id=user_id)
            await core.add_audit_entry(
                session,
                action="decision.settings.pay_run",
                business_id=business_id,
                user_id=user_id,
                before={"pay_run_weekday": before},
                after={"pay_run_weekday": weekday},
            )

    # --- finalize -------------------------------------------------------------------------------

    async def start_finalize(self, business_id: int, *, as_of: dt.date, user_id: int) -> BatchProgress | None:
        """The running batch if there is one (an earlier finalize to finish), else a new batch of every
        approved decision; None when nothing is approved."""
        try:
            async with self.db.write() as session:
                running = await repo.running_batch(session, business_id)
                if running is not None:
                    return await self._progress(session, business_id, running)
                batch = await repo.start_batch(session, business_id, as_of=as_of, user_id=user_id)
                if batch is None:
                    return None
                progress = await self._progress(session, business_id, batch)
                await core.add_audit_entry(
                    session,
                    action="decision.finalize.start",
                    business_id=business_id,
                    user_id=user_id,
                    entity_type="FinalizeBatch",
                    entity_id=str(batch.id),
                    after={"decisions": len(progress.items), "as_of": as_of.isoformat()},
                )
                return progress
        except IntegrityError:
            # Another instance started a batch at the same moment: join that one.
            async with self.db.read() as session:
                running = await repo.running_batch(session, business_id)
                return await self._progress(session, business_id, running) if running is not None else None

    async def batch_progress(self, business_id: int, batch_id: int) -> BatchProgress:
        async with self.db.read() as session:
            batch = await repo.get_batch(session, business_id, batch_id)
            if batch is None:
                raise BatchNotFoundError(batch_id)
            return await self._progress(session, business_id, batch)

    async def latest_batch(self, business_id: int) -> BatchProgress | None:
        async with self.db.read() as session:
            batch = await repo.latest_batch(session, business_id)
            return await self._progress(session, business_id, batch) if batch is not None else None

    async def finalize_step(self, business_id: int, batch_id: int, *, user_id: int) -> StepResult:
        """Execute the batch's next item (or take over one whose runner died) and record its outcome."""
        now = self._now()
        async with self.db.write() as session:
            batch = await repo.get_batch(session, business_id, batch_id)
            if batch is None:
                raise BatchNotFoundError(batch_id)
            item = None
            if batch.status == "running":
                item = await repo.claim_item(session, business_id, batch_id, now=now, lease=ITEM_LEASE)
            if item is None:
                finished = batch.status == "running" and await repo.finish_batch_if_complete(
                    session, business_id, batch_id, now=now
                )
                if finished:
                    await core.add_audit_entry(
                        session,
                        action="decision.finalize.finish",
                        business_id=business_id,
                        user_id=user_id,
                        entity_type="FinalizeBatch",
                        entity_id=str(batch_id),
                    )
                await session.refresh(batch)
                progress = await self._progress(session, business_id, batch)
                return StepResult(progress, None, waiting=not progress.finished)
            row = await repo.get_decision(session, business_id, item.decision_id)
            assert row is not None
            decision = (await _records(session, [row]))[0]
            item_id, batch_as_of = item.id, batch.as_of

        outcome = await self._execute(business_id, decision, batch_as_of, user_id=user_id)

        finished_at = self._now()
        async with self.db.write() as session:
            await repo.finish_item(
                session,
                business_id,
                item_id,
                outcome=outcome.status,
                message=outcome.message,
                qbo_result_id=outcome.qbo_result_id,
                now=finished_at,
            )
            row = await repo.get_decision(session, business_id, decision.id)
            assert row is not None
            # Finalize owns an executing decision: no one else may change it, so no version check here.
            await repo.change_decision(
                session,
                business_id,
                row.id,
                row.version,
                status=outcome.status,
                executed_at=finished_at,
                finalized_on=batch_as_of,
                result_message=outcome.message,
                result_qbo_id=outcome.qbo_result_id,
                qbo_current=outcome.qbo_current,
            )
            await session.refresh(row)
            record = (await _records(session, [row]))[0]
            await core.add_audit_entry(
                session,
                action=f"decision.finalize.{outcome.status}",
                business_id=business_id,
                user_id=user_id,
                entity_type=decision.entity_type,
                entity_id=decision.qbo_id,
                before=_summary(decision),
                after={
                    **(_summary(record) or {}),
                    "message": outcome.message,
                    "qbo_id": outcome.qbo_result_id,
                },
                request_id=decision.idempotency_key,
            )
            finished = await repo.finish_batch_if_complete(session, business_id, batch_id, now=finished_at)
            if finished:
                await core.add_audit_entry(
                    session,
                    action="decision.finalize.finish",
                    business_id=business_id,
                    user_id=user_id,
                    entity_type="FinalizeBatch",
                    entity_id=str(batch_id),
                )
            batch_row = await repo.get_batch(session, business_id, batch_id)
            assert batch_row is not None
            await session.refresh(batch_row)
            progress = await self._progress(session, business_id, batch_row)
        if finished and self.smart_sync is not None and any(i.qbo_result_id for i in progress.items):
            await self._request_sync(business_id)
        return StepResult(progress, record, waiting=False)

    async def run_finalize(self, business_id: int, *, as_of: dt.date, user_id: int) -> BatchProgress | None:
        """Start (or resume) finalize and run it to the end in this process; None when nothing is approved."""
        progress = await self.start_finalize(business_id, as_of=as_of, user_id=user_id)
        if progress is None:
            return None
        while True:
            step = await self.finalize_step(business_id, progress.batch_id, user_id=user_id)
            progress = step.progress
            if step.decision is None:
                return progress

    async def _request_sync(self, business_id: int) -> None:
        assert self.smart_sync is not None
        try:
            # BillPayments change bill balances in QBO; pull them so the console shows what QBO now says.
            await self.smart_sync.request_sync(business_id, trigger="manual")
        except (
            Exception
        ) as exc:  # the batch is finished either way; a missed sync is caught up by the schedule
            log.warning("could not queue a sync after finalize", business_id=business_id, error=str(exc))

    async def _progress(self, session: Any, business_id: int, batch: m.FinalizeBatch) -> BatchProgress:
        items = await repo.batch_items(session, business_id, batch.id)
        rows = await repo.decisions_by_ids(session, business_id, [item.decision_id for item in items])
        labels = await repo.user_labels(session, [batch.started_by])
        return BatchProgress(
            batch_id=batch.id,
            status=batch.status,
            as_of=batch.as_of,
            started_by_label=labels.get(batch.started_by, "") if batch.started_by is not None else "",
            started_at=batch.started_at,
            finished_at=batch.finished_at,
            items=tuple(
                BatchItemRecord(
                    decision_id=item.decision_id,
                    entity_type=rows[item.decision_id].entity_type,
                    qbo_id=rows[item.decision_id].qbo_id,
                    party_name=rows[item.decision_id].party_name,
                    doc_number=rows[item.decision_id].doc_number,
                    verb=rows[item.decision_id].verb,
                    outcome=item.outcome,
                    message=item.message,
                    qbo_result_id=item.qbo_result_id,
                    attempts=item.attempts,
                )
                for item in items
                if item.decision_id in rows
            ),
        )

    # --- executing one decision (no transaction is open while QBO is called) ---------------------

    async def _execute(
        self, business_id: int, decision: DecisionRecord, as_of: dt.date, *, user_id: int
    ) -> _Outcome:
        params = decision.parameters
        try:
            if decision.verb == "pay_now" and params.get("bank_account_qbo_id"):
                return await self._record_bill_payment(business_id, decision, as_of, user_id=user_id)
            if decision.verb in ("schedule", "delay") and params.get("note"):
                return await self._add_private_note(business_id, decision, user_id=user_id)
            if decision.verb == "chase":
                return await self._send_reminder(business_id, decision, user_id=user_id)
        except ConflictError as exc:
            return _Outcome(
                m.CONFLICT,
                f"{exc}: QuickBooks refused the change and nothing was overwritten. Its current values "
                "are shown.",
                qbo_current=_json_safe(exc.current),
            )
        except NotConnectedError:
            return _Outcome(m.FAILED, "This business is not connected to QuickBooks, so nothing was written.")
        except ReconnectNeededError:
            return _Outcome(m.FAILED, "QuickBooks needs to be connected again before this can be written.")
        except QboError as exc:
            return _Outcome(m.FAILED, str(exc))
        except Exception as exc:  # recorded on the item so nothing fails silently; the log has the trace
            log.exception("finalize item failed", business_id=business_id, decision_id=decision.id)
            return _Outcome(m.FAILED, f"Unexpected error: {exc}")
        return _Outcome(m.DONE, _no_write_message(decision))

    def _sync(self) -> SmartSyncService:
        if self.smart_sync is None:
            raise NotConnectedError("QuickBooks is not available in this process")
        return self.smart_sync

    async def _record_bill_payment(
        self, business_id: int, decision: DecisionRecord, as_of: dt.date, *, user_id: int
    ) -> _Outcome:
        sync = self._sync()
        key = decision.idempotency_key
        async with self.db.read() as session:
            already_sent = await qbo_repo.get_write(session, business_id, key) is not None
        if not already_sent:
            # First attempt: make sure the bill is still what the decision was about before paying it.
            current = await sync.read_entity(business_id, "Bill", decision.qbo_id)
            balance = _decimal_to_cents(current.get("Balance"))
            if balance != decision.amount_cents:
                shown = "an unknown balance" if balance is None else f"a balance of {balance / 100:,.2f}"
                return _Outcome(
                    m.CONFLICT,
                    f"QuickBooks now shows {shown} for this bill (it was {decision.amount_cents / 100:,.2f} "
                    "when decided), so no payment was recorded.",
                    qbo_current=_json_safe(current),
                )
        bank = str(decision.parameters["bank_account_qbo_id"])
        amount = _cents_to_decimal(decision.amount_cents)
        payload = {
            "VendorRef": {"value": decision.party_qbo_id},
            "PayType": "Check",
            "TotalAmt": amount,
            "TxnDate": as_of.isoformat(),
            "CheckPayment": {"BankAccountRef": {"value": bank}},
            "PrivateNote": f"Recorded by Runway (decision {decision.id}).",
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": decision.qbo_id, "TxnType": "Bill"}]}],
        }
        result = await sync.create_entity(
            business_id,
            "BillPayment",
            payload,
            request_id=key,
            user_id=user_id,
            audit_action="decision.bill_payment",
        )
        bank_name = decision.parameters.get("bank_account_name") or f"account {bank}"
        return _Outcome(
            m.DONE,
            f"BillPayment {result.qbo_id} recorded in QuickBooks from {bank_name}. "
            "QuickBooks moves no money: the payment itself is made outside it.",
            qbo_result_id=result.qbo_id,
        )

    async def _add_private_note(
        self, business_id: int, decision: DecisionRecord, *, user_id: int
    ) -> _Outcome:
        sync = self._sync()
        async with self.db.read() as session:
            bill = await get_entity(session, business_id, Bill, decision.qbo_id)
            if bill is None:
                return _Outcome(m.FAILED, "The bill is no longer in QuickBooks' data, so no note was added.")
            sync_token, existing = bill.sync_token, bill.private_note or ""
        note = str(decision.parameters["note"]).strip()
        text = note if not existing else (existing if note in existing else f"{existing}\n{note}")
        result = await sync.update_entity(
            business_id,
            "Bill",
            decision.qbo_id,
            {"PrivateNote": text[:4000]},
            sync_token=sync_token,
            user_id=user_id,
            request_id=decision.idempotency_key,
            audit_action="decision.private_note",
        )
        return _Outcome(
            m.DONE,
            f"Private note added to the bill in QuickBooks; {_no_write_message(decision).lower()}",
            qbo_result_id=result.qbo_id,
        )

    async def _send_reminder(self, business_id: int, decision: DecisionRecord, *, user_id: int) -> _Outcome:
        sync = self._sync()
        async with self.db.read() as session:
            invoice = await get_entity(session, business_id, Invoice, decision.qbo_id)
            address = invoice.bill_email if invoice is not None else None
        result = await sync.send_invoice(
            business_id, decision.qbo_id, user_id=user_id, request_id=decision.idempotency_key
        )
        sent_to = ((result.obj.get("BillEmail") or {}).get("Address")) or address or "its billing e-mail"
        return _Outcome(
            m.DONE,
            f"QuickBooks e-mailed the invoice to {sent_to}.",
            qbo_result_id=result.qbo_id,
        )


def _no_write_message(decision: DecisionRecord) -> str:
    if decision.verb == "pay_now":
        return "Planned as paid today; nothing was written to QuickBooks."
    if decision.verb in ("schedule", "delay") and decision.planned_on is not None:
        return f"Planned for {decision.planned_on:%-d %b %Y}; nothing was written to QuickBooks."
    if decision.verb == "skip":
        return "Skipped this week; nothing was written to QuickBooks."
    return "Nothing was written to QuickBooks."


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value
