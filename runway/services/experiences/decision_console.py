"""Experience: the Decision Console — a keyboard-driven queue of this week's bills and invoices, each
decision priced on the runway before it is made, and an exactly-once finalize (PRODUCT §5).

Every method answers with frozen view dataclasses. One keypress is one small request: it records one
decision (compare-and-set on the version the screen showed) and answers with that item's row, the header
and the counters. The header's running total of the queued decisions prices all of them together on
one prepared forecast run (`PreparedForecast.impact`), never a sum of single deltas.

What a request derives from the books alone (the queue, lookups, the prepared forecast) is kept per
business under the books' data-version stamp, so a keypress reads the decisions and the stamp, not the
books: its cost follows the number of decisions, not of bills.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from domains.core import foreground
from domains.core.locks import BusinessLocks
from domains.core.permissions import Capability
from domains.decisions.models import APPROVED, CONFLICT, DONE, EXECUTING, FAILED, PROPOSED, UNDONE
from runway.services.calculators.arithmetic import monday_of
from runway.services.calculators.impact_calculator import (
    Chase,
    DecisionChange,
    DecisionPlan,
    Delay,
    ImpactCalculator,
    PayNow,
    PlanImpact,
    PreparedForecast,
    Schedule,
    Skip,
)
from runway.services.calculators.priority_calculator import IssueRef, PriorityCalculator, QueueItem
from runway.services.calculators.runway_calculator import effective_due_basis, typical_lateness
from runway.services.calculators.snapshots import (
    BANK,
    BillSnap,
    BusinessSnapshot,
    InvoiceSnap,
    PlannedDate,
    SnapshotIndex,
)
from runway.services.data_orchestrators.books_cache import BooksCache
from runway.services.data_orchestrators.decision_console_data_orchestrator import (
    OPEN_STATUSES,
    QUEUED_STATUSES,
    BatchNotFoundError,
    BatchProgress,
    ConsoleData,
    DecisionConsoleDataOrchestrator,
    DecisionRecord,
    DecisionSetKey,
    NewDecision,
    StaleDecisionError,
    in_plan,
    plan_decisions,
    with_decision,
)
from runway.services.experiences.business_list import BusinessContext
from runway.services.experiences.runway_report import business_today
from runway.services.experiences.sign_in import CurrentUser

VERB_LABELS = {
    "pay_now": "Pay now",
    "schedule": "Schedule",
    "delay": "Delay",
    "chase": "Chase",
    "skip": "Skip this week",
}
STATUS_LABELS = {
    PROPOSED: "Proposed",
    APPROVED: "Approved",
    EXECUTING: "Finalizing",
    DONE: "Done",
    FAILED: "Failed",
    CONFLICT: "Conflict",
    UNDONE: "Undone",
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
RULE_LABELS = {
    "bill_missing_due_date": "no due date",
    "possible_duplicate_bill": "possible duplicate",
    "totals_mismatch": "totals do not add up",
    "orphan_reference": "vendor or customer missing",
}
BILL_VERBS = ("pay_now", "schedule", "delay", "skip")
INVOICE_VERBS = ("chase", "skip")
FORM_VERBS = ("pay_now", "schedule", "delay")
# How far ahead a payment may be planned.
MAX_PLAN_DAYS = 366
HISTORY_ROWS = 6


class ConsoleForbiddenError(Exception):
    """The user's role does not allow this (viewers read; bookkeepers propose; approvers approve)."""


class ConsoleInputError(ValueError):
    """A form value could not be used; the message says which and why."""


class ConsoleNotFoundError(LookupError):
    """No such item or batch in this business."""


class ConsoleConflictError(Exception):
    """The screen was stale: `view` holds the item as it is now, to show instead (HTTP 409)."""

    def __init__(self, view: KeypressView, reason: str) -> None:
        super().__init__(reason)
        self.view = view
        self.reason = reason


def _minus(value: int) -> str:
    return f"\u2212{abs(value)}" if value < 0 else f"+{value}" if value > 0 else "0"


@dataclass(frozen=True, slots=True)
class DeltaView:
    """The three deltas of PRODUCT §3 (plus Δ lowest cash and days past terms)."""

    delta_days: int | None
    direction: str
    new_cash_zero_date: dt.date | None
    new_lowest_cash_cents: int
    delta_lowest_cash_cents: int | None = None
    days_past_terms: int | None = None

    @property
    def days_text(self) -> str:
        """Signed days with a true minus sign, "no change", or the crossing of the not-burning line."""
        if self.delta_days is None:
            return "stops the burn" if self.direction == "longer" else "starts a burn"
        if self.delta_days == 0:
            return "no change"
        unit = "day" if abs(self.delta_days) == 1 else "days"
        return f"{_minus(self.delta_days)} {unit}"

    @property
    def tone(self) -> str:
        return {"longer": "good", "shorter": "bad"}.get(self.direction, "neutral")


def _delta_of(impact: PlanImpact, qbo_id: str | None = None) -> DeltaView:
    return DeltaView(
        delta_days=impact.delta_runway_days,
        direction=impact.direction,
        new_cash_zero_date=impact.new_cash_zero_date,
        new_lowest_cash_cents=impact.new_lowest_cash_cents,
        delta_lowest_cash_cents=impact.delta_lowest_cash_cents,
        days_past_terms=impact.days_past_terms.get(qbo_id) if qbo_id is not None else None,
    )


@dataclass(frozen=True, slots=True)
class HeaderView:
    """The live header: the runway now and the running total of the queued decisions (one re-run)."""

    currency: str
    cash_now_cents: int
    cash_net_of_cards_cents: int
    runway_days: int | None
    runway_weeks: Decimal | None
    status: str
    not_burning: bool
    cash_zero_date: dt.date | None
    lowest_cash_cents: int
    lowest_cash_week: int
    queued_count: int
    delta: DeltaView
    after_runway_weeks: Decimal | None
    after_status: str
    sentence: str
    ignored_count: int

    @property
    def decisions_label(self) -> str:
        """ "these 5 decisions", the label of the running total."""
        if self.queued_count == 0:
            return "no decisions yet"
        if self.queued_count == 1:
            return "this decision"
        return f"these {self.queued_count} decisions"


@dataclass(frozen=True, slots=True)
class DecisionView:
    id: int
    seen: str
    verb: str
    verb_label: str
    planned_on: dt.date | None
    bank_account_name: str | None
    note: str | None
    status: str
    status_label: str
    delta: DeltaView
    decided_by_label: str
    decided_at: dt.datetime
    approved_by_label: str
    result_message: str | None
    result_qbo_id: str | None
    qbo_current: tuple[tuple[str, str], ...]
    idempotency_key: str

    @property
    def summary(self) -> str:
        if self.verb in ("schedule", "delay") and self.planned_on is not None:
            return f"{self.verb_label} to {self.planned_on.day} {self.planned_on:%b %Y}"
        if self.verb == "pay_now" and self.bank_account_name:
            return f"Pay now, record from {self.bank_account_name}"
        return self.verb_label


@dataclass(frozen=True, slots=True)
class PresetView:
    key: str
    label: str
    on: dt.date


@dataclass(frozen=True, slots=True)
class BankAccountView:
    qbo_id: str
    name: str


@dataclass(frozen=True, slots=True)
class FormView:
    """The inline form of a verb that needs a choice: a date (schedule, delay) or a bank account (pay)."""

    verb: str
    verb_label: str
    default_date: dt.date | None
    min_date: dt.date
    max_date: dt.date
    presets: tuple[PresetView, ...]
    bank_accounts: tuple[BankAccountView, ...]
    can_record_payment: bool
    record_note: str
    due_date: dt.date


@dataclass(frozen=True, slots=True)
class RowView:
    """One queue row: the item, its current decision, and what the user may do with it."""

    business_id: int
    entity_type: str
    qbo_id: str
    party_name: str
    doc_number: str | None
    amount_cents: int
    currency: str
    due_date: dt.date | None
    days_overdue: int
    critical: bool
    doubtful: bool
    blocked_by: tuple[str, ...]
    in_queue: bool
    absent_reason: str | None
    decision: DecisionView | None
    can_decide: bool
    can_approve: bool
    mode: str = "view"
    form: FormView | None = None
    message: str | None = None

    @property
    def dom_id(self) -> str:
        return f"item-{self.entity_type}-{self.qbo_id}"

    @property
    def url(self) -> str:
        return f"/b/{self.business_id}/console/items/{self.entity_type}/{self.qbo_id}"

    @property
    def seen(self) -> str:
        return self.decision.seen if self.decision is not None else "none"

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_by)

    @property
    def is_bill(self) -> bool:
        return self.entity_type == "bill"

    @property
    def label(self) -> str:
        kind = "Bill" if self.is_bill else "Invoice"
        return f"{kind} {self.doc_number or self.qbo_id}"

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


@dataclass(frozen=True, slots=True)
class CountersView:
    business_id: int
    items: int
    blocked: int
    undecided: int
    proposed: int
    approved: int
    executing: int
    failed: int
    conflict: int
    done_this_week: int
    can_undo: bool
    can_finalize: bool
    finalize_running: bool


@dataclass(frozen=True, slots=True)
class FinalizeItemView:
    label: str
    party_name: str
    verb_label: str
    outcome: str
    message: str | None


@dataclass(frozen=True, slots=True)
class FinalizeView:
    business_id: int
    batch_id: int
    total: int
    done: int
    failed: int
    conflict: int
    remaining: int
    finished: bool
    waiting: bool
    started_by_label: str
    items: tuple[FinalizeItemView, ...]

    @property
    def step_url(self) -> str:
        return f"/b/{self.business_id}/console/finalize/{self.batch_id}/step"

    @property
    def completed(self) -> int:
        return self.total - self.remaining

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else (100 * self.completed) // self.total


@dataclass(frozen=True, slots=True)
class HistoryRowView:
    label: str
    txn_date: dt.date
    amount_cents: int
    due_date: dt.date
    paid_on: dt.date | None
    days_after_due: int | None
    open_cents: int


@dataclass(frozen=True, slots=True)
class WhatIfView:
    label: str
    verb: str
    on: dt.date | None
    delta: DeltaView
    current: bool


@dataclass(frozen=True, slots=True)
class DiscountView:
    percent: Decimal
    deadline: dt.date
    amount_cents: int
    open: bool
    annualised_percent: Decimal | None


@dataclass(frozen=True, slots=True)
class DetailView:
    """The panel for the focused item: party history, terms, discount and the what-if rows."""

    row: RowView
    party_label: str
    due_basis: str
    term_name: str | None
    discount: DiscountView | None
    history: tuple[HistoryRowView, ...]
    typical_lateness_days: int | None
    expected_on: dt.date | None
    what_ifs: tuple[WhatIfView, ...]
    bill_email: str | None
    can_flag_critical: bool
    party_qbo_id: str


@dataclass(frozen=True, slots=True)
class KeypressView:
    """The answer to one keypress: the item's row, the header and the counters."""

    business_id: int
    row: RowView | None
    header: HeaderView
    counters: CountersView
    message: str | None = None


@dataclass(frozen=True, slots=True)
class StepView:
    """The answer to one finalize step: progress, the item it finished, and the whole queue at the end."""

    finalize: FinalizeView
    keypress: KeypressView | None
    console: ConsoleView | None


@dataclass(frozen=True, slots=True)
class ConsoleView:
    business_id: int
    business_name: str
    as_of: dt.date
    currency: str
    header: HeaderView
    counters: CountersView
    rows: tuple[RowView, ...]
    finalize: FinalizeView | None
    can_propose: bool
    can_approve: bool
    pay_run_weekday: int
    connected: bool
    detail: DetailView | None = None
    weekdays: tuple[str, ...] = field(default=WEEKDAYS)

    @property
    def pay_run_label(self) -> str:
        return WEEKDAYS[self.pay_run_weekday]

    @property
    def empty(self) -> bool:
        return not self.rows


# --- the per-request context: queue, decisions and names, built from one ConsoleData ----------------


@dataclass(frozen=True, slots=True)
class _Books:
    """What a request derives from the books, flags and hygiene blocks alone (cached per books stamp)."""

    queue: tuple[QueueItem, ...]
    items: Mapping[tuple[str, str], QueueItem]
    invoices: Mapping[str, InvoiceSnap]
    forecast: PreparedForecast
    # How many queue items an open hygiene issue blocks.
    blocked: int


# A few businesses' prepared forecasts and queues; each key holds everything its value is derived from.
_FORECASTS: BooksCache[PreparedForecast] = BooksCache(size=6, out_of_gc=True)
_BOOKS: BooksCache[_Books] = BooksCache(size=12, out_of_gc=True)


def _blocks_key(issues: tuple[IssueRef, ...]) -> frozenset[tuple[str, str, str, str]]:
    return frozenset((i.entity_type, i.qbo_id, i.rule, i.severity) for i in issues)


# Plans of decisions on a business's prepared forecast, by the decisions' (id, version): one decision per
# item, so their order does not matter. A keypress extends the plan the previous one kept by one decision.
_PLANS: BooksCache[tuple[PreparedForecast, DecisionPlan]] = BooksCache(size=16)


@dataclass(frozen=True, slots=True)
class _KeptPlan:
    key: DecisionSetKey
    plan: DecisionPlan


def _kept_plan(
    books: _Books,
    records: Callable[[], Iterable[DecisionRecord]],
    key: DecisionSetKey | None = None,
) -> _KeptPlan:
    """The plan of `records` (read only when no plan is kept under `key`, their `DecisionSetKey`)."""
    listed: tuple[DecisionRecord, ...] | None = None
    if key is None:
        listed = tuple(records())
        key = DecisionSetKey.of(listed)
    forecast = books.forecast
    kept = _PLANS.get((id(forecast), key))
    if kept is not None and kept[0] is forecast:
        return _KeptPlan(key, kept[1])
    plan = forecast.plan(_change(d) for d in (listed if listed is not None else records()))
    _PLANS.put((id(forecast), key), (forecast, plan))
    return _KeptPlan(key, plan)


def _keep_plan(books: _Books, key: DecisionSetKey, plan: DecisionPlan) -> None:
    _PLANS.put((id(books.forecast), key), (books.forecast, plan))


class _Tally:
    """What the counters and the header count of a queue's current decisions.

    Kept per queue state (`_TALLIES`), so that a keypress moves the one decision it replaced out and the
    new one in instead of recounting thousands of decisions. Never changed once kept: `moved` copies.
    """

    __slots__ = (
        "done",
        "done_this_week",
        "extra",
        "hidden",
        "hidden_blocked",
        "open_by",
        "queued",
        "statuses",
    )

    def __init__(self) -> None:
        # Decisions shown although their item left the queue; hidden ones (done this week) of queue items,
        # and how many of those an issue blocks; done this week in all; queued plan decisions shown.
        self.extra = self.hidden = self.hidden_blocked = self.done_this_week = self.queued = 0
        self.statuses: dict[str, int] = {}  # of the decisions shown, but done ones
        self.open_by: dict[int | None, int] = {}  # open decisions by who made them (for undo)
        self.done: dict[tuple[int, int], DecisionRecord] = {}  # done decisions of the plan

    @classmethod
    def of(cls, ctx: _Context) -> _Tally:
        tally = cls()
        for decision in ctx.current.values():
            tally._count(ctx, decision, 1)
        return tally

    def moved(self, ctx: _Context, out: DecisionRecord | None, into: DecisionRecord) -> _Tally:
        tally = _Tally()
        tally.extra, tally.hidden, tally.hidden_blocked = self.extra, self.hidden, self.hidden_blocked
        tally.done_this_week, tally.queued = self.done_this_week, self.queued
        tally.statuses, tally.open_by, tally.done = dict(self.statuses), dict(self.open_by), dict(self.done)
        if out is not None:
            tally._count(ctx, out, -1)
        tally._count(ctx, into, 1)
        return tally

    def _count(self, ctx: _Context, decision: DecisionRecord, sign: int) -> None:
        status = decision.status
        item = ctx.items.get((decision.entity_type, decision.qbo_id))
        hidden = ctx.hidden(decision)
        shown = True
        if item is None:
            shown = status in (*OPEN_STATUSES, EXECUTING)
            self.extra += sign * shown
        elif hidden:
            shown = False
            self.hidden += sign
            self.hidden_blocked += sign * bool(item.blocked_by)
        if shown and status != DONE:
            self.statuses[status] = self.statuses.get(status, 0) + sign
        self.done_this_week += sign * hidden
        if status in OPEN_STATUSES:
            self.open_by[decision.decided_by] = self.open_by.get(decision.decided_by, 0) + sign
        if in_plan(decision):
            if status == DONE:
                if sign > 0:
                    self.done[(decision.id, decision.version)] = decision
                else:
                    self.done.pop((decision.id, decision.version), None)
            elif status in QUEUED_STATUSES and not hidden:
                self.queued += sign


# Tallies by the books they were counted against and the (id, version) of the decisions counted.
_TALLIES: BooksCache[tuple[_Books, _Tally]] = BooksCache(size=16)

_KEYPRESS_LOCKS = BusinessLocks()


def _one_at_a_time(business_id: int) -> asyncio.Lock:
    """The lock a keypress on this business holds from reading the queue to answering.

    So each keypress is priced on the queue as the previous one left it, and the plan and counts that
    keypress kept are the ones the next starts from. Without it, concurrent keypresses each read the
    queue before the others wrote, price on a plan that is already gone, and leave every kept plan and
    count under a state that never exists, so the next keypress recomputes them from every decision.
    Writers of other processes still interleave; their keypresses then start from the database's state.
    """
    return _KEYPRESS_LOCKS(business_id)


@dataclass(frozen=True, slots=True)
class _Context:
    data: ConsoleData
    books: _Books
    current: Mapping[tuple[str, str], DecisionRecord]
    # The keys of the current decisions in the plan (see `_kept_plan`), and of all of them.
    plan_key: DecisionSetKey
    current_key: DecisionSetKey
    business: BusinessContext
    user: CurrentUser

    @property
    def tally(self) -> _Tally:
        kept = _TALLIES.get((id(self.books), self.current_key))
        if kept is not None and kept[0] is self.books:
            return kept[1]
        tally = _Tally.of(self)
        _TALLIES.put((id(self.books), self.current_key), (self.books, tally))
        return tally

    @property
    def index(self) -> SnapshotIndex:
        return self.books.forecast.index

    @property
    def queue(self) -> tuple[QueueItem, ...]:
        return self.books.queue

    @property
    def items(self) -> Mapping[tuple[str, str], QueueItem]:
        return self.books.items

    @property
    def bills(self) -> Mapping[str, BillSnap]:
        return self.books.forecast.bills

    @property
    def invoices(self) -> Mapping[str, InvoiceSnap]:
        return self.books.invoices

    @property
    def forecast(self) -> PreparedForecast:
        return self.books.forecast

    @property
    def as_of(self) -> dt.date:
        return self.data.as_of

    @property
    def snapshot(self) -> BusinessSnapshot:
        return self.data.snapshot

    @property
    def currency(self) -> str:
        return self.data.snapshot.home_currency

    def hidden(self, decision: DecisionRecord | None) -> bool:
        """Done this week: finalized items leave the queue until next week."""
        return (
            decision is not None
            and decision.status == DONE
            and decision.finalized_on is not None
            and decision.finalized_on >= monday_of(self.as_of)
        )


def _change(decision: DecisionRecord) -> DecisionChange:
    if decision.verb == "pay_now":
        return PayNow(decision.qbo_id)
    if decision.verb == "schedule":
        return Schedule(decision.qbo_id, decision.planned_on)
    if decision.verb == "delay" and decision.planned_on is not None:
        return Delay(decision.qbo_id, decision.planned_on)
    if decision.verb == "chase":
        return Chase(decision.qbo_id)
    return Skip("bill" if decision.entity_type == "bill" else "invoice", decision.qbo_id)


def _parse_seen(raw: str | None) -> tuple[int, int] | None:
    if raw is None or raw.strip() in ("", "none"):
        return None
    try:
        decision_id, version = raw.strip().split(".", 1)
        return int(decision_id), int(version)
    except ValueError:
        raise ConsoleInputError("The page sent an unreadable item version; reload the page.") from None


def _parse_date(raw: str | None, what: str) -> dt.date:
    if not raw or not raw.strip():
        raise ConsoleInputError(f"Choose a date to {what}.")
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise ConsoleInputError(f"{raw!r} is not a date; use the date picker (YYYY-MM-DD).") from None


def _next_weekday_after(day: dt.date, weekday: int) -> dt.date:
    ahead = (weekday - day.weekday()) % 7
    return day + dt.timedelta(days=ahead or 7)


def _discount_amount(amount_cents: int, percent: Decimal) -> int:
    return int((Decimal(amount_cents) * percent / 100).to_integral_value(rounding=ROUND_HALF_UP))


class DecisionConsoleService:
    """The Decision Console of one business at a time; every method checks the caller's role first."""

    def __init__(
        self,
        orchestrator: DecisionConsoleDataOrchestrator,
        *,
        today: Callable[[str], dt.date] | None = None,
        impact: ImpactCalculator | None = None,
    ) -> None:
        self.data_orchestrator = orchestrator
        self._today = today or business_today
        self.impact = impact or ImpactCalculator()
        self.priority = PriorityCalculator()

    async def on_sync_run(self, business_id: int, outcome: object) -> None:
        """SmartSync run listener (after the summary refresh): the console's books after a sync, worked
        out in the run's scope, in a thread, so that the next keypress finds them ready instead of working
        them out in its request while every keypress behind it waits."""
        try:
            data = await self.data_orchestrator.load(business_id, as_of_for=self._today, for_refresh=True)
        except LookupError:
            return  # the business is gone
        await foreground.pure_work(self._books, data)

    # --- screens ----------------------------------------------------------------------------------

    async def console(
        self,
        business: BusinessContext,
        user: CurrentUser,
        *,
        focus: tuple[str, str] | None = None,
        form: str | None = None,
        finalized: int | None = None,
    ) -> ConsoleView:
        """The whole screen: header, counters, the queue in priority order and any running finalize.

        Args:
            business: The business and the user's role in it.
            user: The signed-in user.
            focus: (entity type, QBO Id) of an item whose detail panel is open.
            form: A verb whose inline form the focused item shows (pages without JavaScript).
            finalized: A finalize batch whose results to show (after finalize without JavaScript).
        """
        ctx = await self._context(business, user)
        shown = await self.finalize_progress(business, finalized) if finalized is not None else None
        view = self._console_view(ctx, finalize=shown)
        if focus is None:
            return view
        row = self._row_for(ctx, *focus)
        if row is None:
            raise ConsoleNotFoundError(f"{focus[0]} {focus[1]}")
        rows = view.rows
        if form is not None:
            formed = await self._form_row(business, ctx, row, form)
            rows = tuple(formed if r.dom_id == row.dom_id else r for r in rows)
        return replace(view, rows=rows, detail=self._detail_view(ctx, row))

    async def detail(
        self, business: BusinessContext, user: CurrentUser, entity_type: str, qbo_id: str
    ) -> DetailView:
        """The detail panel of one item: history, terms, discount, and the what-if rows with deltas."""
        ctx = await self._context(business, user)
        row = self._row_for(ctx, entity_type, qbo_id)
        if row is None:
            raise ConsoleNotFoundError(f"{entity_type} {qbo_id}")
        return self._detail_view(ctx, row)

    async def form(
        self, business: BusinessContext, user: CurrentUser, entity_type: str, qbo_id: str, verb: str
    ) -> RowView:
        """The item's row with the inline form of `verb` (pay_now, schedule, delay); "view": the plain row."""
        ctx = await self._context(business, user)
        row = self._row_for(ctx, entity_type, qbo_id)
        if row is None:
            raise ConsoleNotFoundError(f"{entity_type} {qbo_id}")
        if verb == "view":
            return row
        return await self._form_row(business, ctx, row, verb)

    async def _form_row(self, business: BusinessContext, ctx: _Context, row: RowView, verb: str) -> RowView:
        self._require(business, Capability.PROPOSE, "Viewers can read the queue but not decide.")
        if verb not in FORM_VERBS or row.entity_type != "bill":
            raise ConsoleNotFoundError(verb)
        if not row.can_decide:
            message = "This item cannot be decided now."
            raise ConsoleConflictError(
                self._keypress(ctx, replace(row, mode="conflict", message=message)), message
            )
        return _with_form(row, self._form_view(ctx, ctx.bills[row.qbo_id], verb))

    # --- keypresses -------------------------------------------------------------------------------

    async def decide(
        self,
        business: BusinessContext,
        user: CurrentUser,
        entity_type: str,
        qbo_id: str,
        action: str,
        values: Mapping[str, str],
    ) -> KeypressView:
        """Record one decision (or approve one) on one item; answers with its row, header and counters.

        Raises:
            ConsoleForbiddenError: The role does not allow it.
            ConsoleInputError: A form value is missing or unusable.
            ConsoleConflictError: The item or its decision changed since the page was shown.
        """
        if action == "approve":
            async with _one_at_a_time(business.id):
                return await self._approve(business, user, entity_type, qbo_id, values)
        self._require(business, Capability.PROPOSE, "Viewers can read the queue but not decide.")
        allowed = BILL_VERBS if entity_type == "bill" else INVOICE_VERBS if entity_type == "invoice" else ()
        if action not in allowed:
            kind = "bills" if entity_type == "bill" else "invoices"
            raise ConsoleInputError(f"{VERB_LABELS.get(action, action)!s} does not apply to {kind}.")
        seen = _parse_seen(values.get("seen"))
        async with _one_at_a_time(business.id):
            return await self._decide(business, user, entity_type, qbo_id, action, values, seen)

    async def _decide(
        self,
        business: BusinessContext,
        user: CurrentUser,
        entity_type: str,
        qbo_id: str,
        action: str,
        values: Mapping[str, str],
        seen: tuple[int, int] | None,
    ) -> KeypressView:
        ctx = await self._context(business, user)
        row = self._row_for(ctx, entity_type, qbo_id)
        if row is None:
            raise ConsoleNotFoundError(f"{entity_type} {qbo_id}")
        if not row.in_queue or row.blocked:
            reason = row.absent_reason or "an open hygiene issue blocks this item; fix it first"
            raise ConsoleConflictError(self._keypress(ctx, row, message=reason.capitalize() + "."), reason)
        item = ctx.items[(entity_type, qbo_id)]
        change, planned_on, params = self._parse_action(ctx, item, action, values)
        others = self._plan_without(ctx, entity_type, qbo_id)
        impact = ctx.forecast.impact_on(others.plan, [change])
        new = NewDecision(
            entity_type=entity_type,
            qbo_id=qbo_id,
            party_qbo_id=item.party_qbo_id,
            party_name=row.party_name,
            doc_number=row.doc_number,
            amount_cents=item.amount_cents,
            currency=ctx.currency,
            verb=action,
            parameters=params,
            planned_on=planned_on,
            status=APPROVED if business.can(Capability.APPROVE) else PROPOSED,
            delta_runway_days=impact.delta_runway_days,
            delta_direction=impact.direction,
            new_cash_zero_date=impact.new_cash_zero_date,
            new_lowest_cash_cents=impact.new_lowest_cash_cents,
            days_past_terms=impact.days_past_terms.get(qbo_id),
            decided_on=ctx.as_of,
        )
        try:
            record = await self.data_orchestrator.record_decision(
                business.id, new, seen=seen, user_id=user.id, user_label=user.label
            )
        except StaleDecisionError as stale:
            raise await self._conflict(business, user, entity_type, qbo_id, stale) from None
        # The plan the next keypress starts from is this one with the new decision in: keep it.
        _keep_plan(ctx.books, others.key.with_(record), impact.plan)
        return self._after_change(business, user, ctx, record, plan=impact.plan)

    async def _approve(
        self,
        business: BusinessContext,
        user: CurrentUser,
        entity_type: str,
        qbo_id: str,
        values: Mapping[str, str],
    ) -> KeypressView:
        self._require(business, Capability.APPROVE, "Only advisors, admins and owners approve decisions.")
        seen = _parse_seen(values.get("seen"))
        ctx = await self._context(business, user)
        try:
            record = await self.data_orchestrator.approve(
                business.id, entity_type, qbo_id, seen=seen, user_id=user.id
            )
        except StaleDecisionError as stale:
            raise await self._conflict(business, user, entity_type, qbo_id, stale) from None
        return self._after_change(business, user, ctx, record)

    async def undo(self, business: BusinessContext, user: CurrentUser) -> KeypressView:
        """Undo this user's last decision that finalize has not taken (the one it replaced comes back)."""
        self._require(business, Capability.PROPOSE, "Viewers can read the queue but not decide.")
        async with _one_at_a_time(business.id):
            return await self._undo(business, user)

    async def _undo(self, business: BusinessContext, user: CurrentUser) -> KeypressView:
        message: str | None
        try:
            undone = await self.data_orchestrator.undo_last(business.id, user_id=user.id)
        except StaleDecisionError:
            undone = None
            message = "That decision changed while it was being undone; the queue shows it as it is now."
        else:
            message = None if undone is not None else "Nothing to undo: you have no decision waiting."
        ctx = await self._context(business, user)
        row = None
        if undone is not None:
            row = self._row_for(ctx, undone[0].entity_type, undone[0].qbo_id)
            message = f"Undid {VERB_LABELS.get(undone[0].verb, undone[0].verb).lower()} on " + (
                row.label if row is not None else f"{undone[0].entity_type} {undone[0].qbo_id}"
            )
        return self._keypress(ctx, row, message=message)

    # --- finalize ---------------------------------------------------------------------------------

    async def start_finalize(self, business: BusinessContext, user: CurrentUser) -> FinalizeView | None:
        """Start finalize (or pick up the one already running); None when nothing is approved."""
        self._require(business, Capability.APPROVE, "Only advisors, admins and owners finalize decisions.")
        as_of = await self._as_of(business)
        progress = await self.data_orchestrator.start_finalize(business.id, as_of=as_of, user_id=user.id)
        return _finalize_view(business.id, progress, waiting=False) if progress is not None else None

    async def finalize_step(self, business: BusinessContext, user: CurrentUser, batch_id: int) -> StepView:
        """Execute the next decision of a finalize batch; at the end the whole queue comes back."""
        self._require(business, Capability.APPROVE, "Only advisors, admins and owners finalize decisions.")
        try:
            step = await self.data_orchestrator.finalize_step(business.id, batch_id, user_id=user.id)
        except BatchNotFoundError:
            raise ConsoleNotFoundError(f"batch {batch_id}") from None
        view = _finalize_view(business.id, step.progress, waiting=step.waiting)
        if view.finished:
            ctx = await self._context(business, user)
            return StepView(view, None, self._console_view(ctx, finalize=view))
        if step.decision is None:
            return StepView(view, None, None)
        ctx = await self._context(business, user)
        row = self._row_for(ctx, step.decision.entity_type, step.decision.qbo_id)
        return StepView(view, self._keypress(ctx, row), None)

    async def finalize(self, business: BusinessContext, user: CurrentUser) -> FinalizeView | None:
        """Finalize every approved decision now, in this process (resuming an interrupted batch first)."""
        self._require(business, Capability.APPROVE, "Only advisors, admins and owners finalize decisions.")
        as_of = await self._as_of(business)
        progress = await self.data_orchestrator.run_finalize(business.id, as_of=as_of, user_id=user.id)
        return _finalize_view(business.id, progress, waiting=False) if progress is not None else None

    async def finalize_progress(self, business: BusinessContext, batch_id: int) -> FinalizeView:
        try:
            progress = await self.data_orchestrator.batch_progress(business.id, batch_id)
        except BatchNotFoundError:
            raise ConsoleNotFoundError(f"batch {batch_id}") from None
        return _finalize_view(business.id, progress, waiting=False)

    # --- the rest ---------------------------------------------------------------------------------

    async def decision_log_csv(self, business: BusinessContext) -> str:
        """The decision log of this business as CSV: every decision, undone and replaced ones included."""
        rows = await self.data_orchestrator.decision_log(business.id)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(
            [
                "decision_id",
                "decided_at",
                "decided_by",
                "item",
                "qbo_id",
                "party",
                "doc_number",
                "amount",
                "currency",
                "verb",
                "planned_on",
                "record_payment_from",
                "private_note",
                "delta_runway_days",
                "new_cash_zero_date",
                "new_lowest_cash",
                "days_past_terms",
                "status",
                "current",
                "replaces",
                "approved_by",
                "approved_at",
                "executed_at",
                "result",
                "qbo_result_id",
                "idempotency_key",
            ]
        )
        for d in rows:
            writer.writerow(
                [
                    d.id,
                    d.decided_at.isoformat(timespec="seconds"),
                    d.decided_by_label,
                    d.entity_type,
                    d.qbo_id,
                    _csv_text(d.party_name),
                    _csv_text(d.doc_number),
                    _amount(d.amount_cents),
                    d.currency,
                    d.verb,
                    d.planned_on.isoformat() if d.planned_on else "",
                    _csv_text(d.parameters.get("bank_account_name")),
                    _csv_text(d.parameters.get("note")),
                    "" if d.delta_runway_days is None else d.delta_runway_days,
                    d.new_cash_zero_date.isoformat() if d.new_cash_zero_date else "",
                    _amount(d.new_lowest_cash_cents),
                    "" if d.days_past_terms is None else d.days_past_terms,
                    d.status,
                    "yes" if d.is_current else "no",
                    d.replaces_id or "",
                    d.approved_by_label,
                    d.approved_at.isoformat(timespec="seconds") if d.approved_at else "",
                    d.executed_at.isoformat(timespec="seconds") if d.executed_at else "",
                    _csv_text(d.result_message),
                    d.result_qbo_id or "",
                    d.idempotency_key,
                ]
            )
        return out.getvalue()

    async def set_vendor_critical(
        self, business: BusinessContext, user: CurrentUser, vendor_qbo_id: str, *, critical: bool
    ) -> None:
        self._require(business, Capability.APPROVE, "Only advisors, admins and owners flag critical vendors.")
        if not vendor_qbo_id.isdigit() or len(vendor_qbo_id) > 32:
            raise ConsoleNotFoundError(vendor_qbo_id)
        await self.data_orchestrator.set_vendor_critical(
            business.id, vendor_qbo_id, critical=critical, user_id=user.id
        )

    async def set_pay_run_weekday(self, business: BusinessContext, user: CurrentUser, raw: str) -> None:
        self._require(business, Capability.APPROVE, "Only advisors, admins and owners change the pay run.")
        try:
            weekday = int(raw)
        except (TypeError, ValueError):
            weekday = -1
        if not 0 <= weekday <= 6:
            raise ConsoleInputError("Choose the pay run day from the list (Monday to Sunday).")
        await self.data_orchestrator.set_pay_run_weekday(business.id, weekday, user_id=user.id)

    async def planned_dates(self, business_id: int) -> tuple[tuple[PlannedDate, ...], tuple[str, ...]]:
        """Planned pay dates and chased invoices of the active decisions (what the forecast applies)."""
        return await self.data_orchestrator.planned_dates(business_id)

    # --- building views ---------------------------------------------------------------------------

    def _require(self, business: BusinessContext, capability: Capability, message: str) -> None:
        if not business.can(capability):
            raise ConsoleForbiddenError(message)

    async def _as_of(self, business: BusinessContext) -> dt.date:
        data = await self.data_orchestrator.load(business.id, as_of_for=self._today)
        return data.as_of

    async def _context(self, business: BusinessContext, user: CurrentUser) -> _Context:
        data = await self.data_orchestrator.load(business.id, as_of_for=self._today)
        return self._context_of(data, business, user)

    def _context_of(self, data: ConsoleData, business: BusinessContext, user: CurrentUser) -> _Context:
        return _Context(
            data=data,
            books=self._books(data),
            current=data.current,
            plan_key=data.plan_key,
            current_key=data.current_key,
            business=business,
            user=user,
        )

    def _books(self, data: ConsoleData) -> _Books:
        cacheable = data.books_stamp is not None
        ledger_key = (data.business_id, data.books_stamp, data.as_of, self.impact.runway.settings)
        forecast = _FORECASTS.get(ledger_key) if cacheable else None
        if forecast is None:
            forecast = self.impact.prepare(data.snapshot, data.as_of)
            if cacheable:
                _FORECASTS.put(ledger_key, forecast)
        # The queue also follows the flags and hygiene blocks, which change without the books changing.
        key = (ledger_key, data.critical_vendor_ids, _blocks_key(data.open_issues))
        cached = _BOOKS.get(key) if cacheable else None
        if cached is not None and cached.forecast is forecast:
            return cached
        queue = self.priority.queue(
            data.snapshot,
            data.as_of,
            critical_vendor_ids=data.critical_vendor_ids,
            open_issues=data.open_issues,
        )
        books = _Books(
            queue=queue,
            items={(i.entity_type, i.qbo_id): i for i in queue},
            invoices={i.qbo_id: i for i in data.snapshot.invoices},
            forecast=forecast,
            blocked=sum(1 for item in queue if item.blocked_by),
        )
        return _BOOKS.put(key, books) if cacheable else books

    def _after_change(
        self,
        business: BusinessContext,
        user: CurrentUser,
        ctx: _Context,
        record: DecisionRecord,
        *,
        plan: DecisionPlan | None = None,
    ) -> KeypressView:
        # A decision changes neither the books nor the other items' decisions: the context read before
        # it, with the item's decision replaced by the one just written, is the queue as it is now
        # (`plan`: the plan of every current decision, when the caller already has it).
        moved = with_decision(ctx.current, ctx.plan_key, ctx.current_key, record)
        tally = ctx.tally.moved(ctx, moved.replaced, record)
        ctx = replace(ctx, current=moved.current, plan_key=moved.plan_key, current_key=moved.current_key)
        _TALLIES.put((id(ctx.books), moved.current_key), (ctx.books, tally))
        return self._keypress(ctx, self._row_for(ctx, record.entity_type, record.qbo_id), plan=plan)

    async def _conflict(
        self,
        business: BusinessContext,
        user: CurrentUser,
        entity_type: str,
        qbo_id: str,
        stale: StaleDecisionError,
    ) -> ConsoleConflictError:
        ctx = await self._context(business, user)
        row = self._row_for(ctx, entity_type, qbo_id)
        message = f"Not saved: {stale.reason}. This is the item as it is now."
        if row is not None:
            row = replace(row, mode="conflict", message=message)
        return ConsoleConflictError(self._keypress(ctx, row, message=message), stale.reason)

    def _keypress(
        self,
        ctx: _Context,
        row: RowView | None,
        *,
        message: str | None = None,
        plan: DecisionPlan | None = None,
    ) -> KeypressView:
        return KeypressView(
            business_id=ctx.business.id,
            row=row,
            header=self._header(ctx, plan),
            counters=self._counters(ctx),
            message=message,
        )

    def _console_view(self, ctx: _Context, *, finalize: FinalizeView | None = None) -> ConsoleView:
        rows = self._rows(ctx)
        batch = ctx.data.batch
        if finalize is None and batch is not None:
            finalize = _finalize_view(ctx.business.id, batch, waiting=False)
        return ConsoleView(
            business_id=ctx.business.id,
            business_name=ctx.data.business_name,
            as_of=ctx.as_of,
            currency=ctx.currency,
            header=self._header(ctx),
            counters=self._counters(ctx),
            rows=rows,
            finalize=finalize,
            can_propose=ctx.business.can(Capability.PROPOSE),
            can_approve=ctx.business.can(Capability.APPROVE),
            pay_run_weekday=ctx.data.pay_run_weekday,
            connected=ctx.data.connected,
        )

    def _header(self, ctx: _Context, plan_all: DecisionPlan | None = None) -> HeaderView:
        tally = ctx.tally
        # Every decision of the plan: `plan_all`, when the caller has it.
        every = (
            plan_all
            if plan_all is not None
            else _kept_plan(ctx.books, lambda: plan_decisions(ctx.current.values()), ctx.plan_key).plan
        )
        done = _kept_plan(ctx.books, lambda: tally.done.values(), DecisionSetKey.of_pairs(tally.done)).plan
        result = ctx.forecast.compare(done, every, past_terms=False)
        before, after = result.before, result.after
        return HeaderView(
            currency=ctx.currency,
            cash_now_cents=before.cash_now_cents,
            cash_net_of_cards_cents=before.cash_net_of_cards_cents,
            runway_days=before.runway.days,
            runway_weeks=before.runway.weeks,
            status=before.runway.status,
            not_burning=before.runway.not_burning,
            cash_zero_date=before.runway.cash_zero_date,
            lowest_cash_cents=before.lowest_cash_cents,
            lowest_cash_week=before.lowest_cash_week,
            queued_count=tally.queued,
            delta=_delta_of(result),
            after_runway_weeks=after.runway.weeks,
            after_status=after.runway.status,
            sentence=result.describe(),
            ignored_count=len(result.ignored),
        )

    def _counters(self, ctx: _Context) -> CountersView:
        # The rows `_listing` gives, counted from the decisions (see `_Tally`): queue items without a
        # decision are undecided rows; hidden ones are done this week.
        tally = ctx.tally
        items = len(ctx.queue) - tally.hidden + tally.extra
        statuses = tally.statuses
        batch = ctx.data.batch
        can_approve = ctx.business.can(Capability.APPROVE)
        return CountersView(
            business_id=ctx.business.id,
            items=items,
            blocked=ctx.books.blocked - tally.hidden_blocked,
            undecided=items - sum(statuses.values()),
            proposed=statuses.get(PROPOSED, 0),
            approved=statuses.get(APPROVED, 0),
            executing=statuses.get(EXECUTING, 0),
            failed=statuses.get(FAILED, 0),
            conflict=statuses.get(CONFLICT, 0),
            done_this_week=tally.done_this_week,
            can_undo=ctx.business.can(Capability.PROPOSE) and tally.open_by.get(ctx.user.id, 0) > 0,
            can_finalize=can_approve and (statuses.get(APPROVED, 0) > 0 or batch is not None),
            finalize_running=batch is not None,
        )

    def _rows(self, ctx: _Context) -> tuple[RowView, ...]:
        return tuple(self._row(ctx, *listed) for listed in self._listing(ctx))

    def _plan_without(self, ctx: _Context, entity_type: str, qbo_id: str) -> _KeptPlan:
        """The plan of every current decision but the item's own (what a decision on it is priced on)."""
        key = (entity_type, qbo_id)
        mine = ctx.current.get(key)
        plan_key = ctx.plan_key.without(mine) if mine is not None and in_plan(mine) else ctx.plan_key
        return _kept_plan(
            ctx.books,
            lambda: (d for d in plan_decisions(ctx.current.values()) if (d.entity_type, d.qbo_id) != key),
            plan_key,
        )

    def _listing(self, ctx: _Context) -> list[tuple[str, str, QueueItem | None, DecisionRecord | None]]:
        """The queue's rows in order: (entity type, QBO Id, queue item, current decision)."""
        listed: list[tuple[str, str, QueueItem | None, DecisionRecord | None]] = []
        shown: set[tuple[str, str]] = set()
        for item in ctx.queue:
            decision = ctx.current.get((item.entity_type, item.qbo_id))
            if ctx.hidden(decision):
                continue
            listed.append((item.entity_type, item.qbo_id, item, decision))
            shown.add((item.entity_type, item.qbo_id))
        # Decisions still waiting whose item left the queue (paid or changed in QBO since) stay visible:
        # a decision is never dropped silently.
        for (entity_type, qbo_id), decision in ctx.current.items():
            if (entity_type, qbo_id) in shown or decision.status not in (*OPEN_STATUSES, EXECUTING):
                continue
            listed.append((entity_type, qbo_id, None, decision))
        return listed

    def _row_for(self, ctx: _Context, entity_type: str, qbo_id: str) -> RowView | None:
        key = (entity_type, qbo_id)
        item = ctx.items.get(key)
        decision = ctx.current.get(key)
        if item is None and decision is None:
            known = ctx.bills if entity_type == "bill" else ctx.invoices
            if qbo_id in known:
                return self._row(ctx, entity_type, qbo_id, None, None)
            return None
        if item is not None and ctx.hidden(decision):
            return self._row(ctx, entity_type, qbo_id, None, decision)
        return self._row(ctx, entity_type, qbo_id, item, decision)

    def _row(
        self,
        ctx: _Context,
        entity_type: str,
        qbo_id: str,
        item: QueueItem | None,
        decision: DecisionRecord | None,
    ) -> RowView:
        doc: BillSnap | InvoiceSnap | None = (
            ctx.bills.get(qbo_id) if entity_type == "bill" else ctx.invoices.get(qbo_id)
        )
        if isinstance(doc, BillSnap):
            vendor = ctx.index.vendors.get(doc.vendor_qbo_id)
            party = vendor.display_name if vendor is not None else f"Vendor {doc.vendor_qbo_id}"
        elif isinstance(doc, InvoiceSnap):
            customer = ctx.index.customers.get(doc.customer_qbo_id)
            party = customer.display_name if customer is not None else f"Customer {doc.customer_qbo_id}"
        else:
            party = (decision.party_name if decision is not None else None) or "Unknown"
        absent_reason = None
        if item is None:
            absent_reason = _absent_reason(ctx, doc, decision)
        executing = decision is not None and decision.status == EXECUTING
        in_queue = item is not None
        blocked_by = (
            tuple(RULE_LABELS.get(rule, rule.replace("_", " ")) for rule in item.blocked_by) if item else ()
        )
        can_propose = ctx.business.can(Capability.PROPOSE)
        return RowView(
            business_id=ctx.business.id,
            entity_type=entity_type,
            qbo_id=qbo_id,
            party_name=party,
            doc_number=doc.doc_number if doc is not None else (decision.doc_number if decision else None),
            amount_cents=item.amount_cents
            if item is not None
            else (decision.amount_cents if decision else 0),
            currency=ctx.currency,
            due_date=item.effective_due_date
            if item is not None
            else (effective_due_basis(doc, ctx.index).on if doc is not None else None),
            days_overdue=item.days_overdue if item is not None else 0,
            critical=item.critical if item is not None else False,
            doubtful=item.doubtful if item is not None else False,
            blocked_by=blocked_by,
            in_queue=in_queue,
            absent_reason=absent_reason,
            decision=_decision_view(decision) if decision is not None else None,
            can_decide=can_propose and in_queue and not blocked_by and not executing,
            can_approve=ctx.business.can(Capability.APPROVE)
            and decision is not None
            and decision.status in (PROPOSED, FAILED, CONFLICT),
        )

    def _form_view(self, ctx: _Context, bill: BillSnap, verb: str) -> FormView:
        due = effective_due_basis(bill, ctx.index).on
        base = max(due, ctx.as_of)
        weekday = ctx.data.pay_run_weekday
        presets: tuple[PresetView, ...] = ()
        default: dt.date | None = None
        if verb == "schedule":
            default = base
        elif verb == "delay":
            pay_run = _next_weekday_after(base, weekday)
            presets = (
                PresetView("7", "+7 days", base + dt.timedelta(days=7)),
                PresetView("14", "+14 days", base + dt.timedelta(days=14)),
                PresetView("pay_run", f"Next pay run ({WEEKDAYS[weekday]})", pay_run),
            )
            default = presets[0].on
        banks = tuple(
            BankAccountView(a.qbo_id, a.name)
            for a in ctx.snapshot.accounts
            if a.active and a.account_type == BANK and a.currency in (None, ctx.currency)
        )
        home_bill = bill.currency in (None, ctx.currency)
        return FormView(
            verb=verb,
            verb_label=VERB_LABELS[verb],
            default_date=default,
            min_date=ctx.as_of,
            max_date=ctx.as_of + dt.timedelta(days=MAX_PLAN_DAYS),
            presets=presets,
            bank_accounts=banks,
            can_record_payment=bool(banks) and home_bill and ctx.data.connected,
            record_note="Payment planned for {date} (Runway).",
            due_date=due,
        )

    def _parse_action(
        self, ctx: _Context, item: QueueItem, action: str, values: Mapping[str, str]
    ) -> tuple[DecisionChange, dt.date | None, dict[str, str]]:
        """The calculator change, the planned date and the stored parameters of one verb."""
        params: dict[str, str] = {}
        if action == "pay_now":
            bank_id = (values.get("bank_account") or "").strip()
            if bank_id:
                form = self._form_view(ctx, ctx.bills[item.qbo_id], "pay_now")
                bank = next((b for b in form.bank_accounts if b.qbo_id == bank_id), None)
                if bank is None or not form.can_record_payment:
                    raise ConsoleInputError(
                        "That bank account cannot record this payment; choose a bank account from the "
                        "list, or do not record it in QuickBooks."
                    )
                params = {"bank_account_qbo_id": bank.qbo_id, "bank_account_name": bank.name}
            return PayNow(item.qbo_id), ctx.as_of, params
        if action in ("schedule", "delay"):
            preset = (values.get("preset") or "").strip()
            form = self._form_view(ctx, ctx.bills[item.qbo_id], action)
            chosen = next((p for p in form.presets if p.key == preset), None)
            on = chosen.on if chosen is not None else _parse_date(values.get("on"), action)
            if on < ctx.as_of:
                raise ConsoleInputError(f"{on:%-d %b %Y} is in the past; choose today or a later date.")
            if on > form.max_date:
                raise ConsoleInputError("Plan payments at most a year ahead.")
            if chosen is not None:
                params["preset"] = chosen.key
            if values.get("add_note"):
                params["note"] = form.record_note.format(date=f"{on.day} {on:%b %Y}")
            change: DecisionChange = (
                Schedule(item.qbo_id, on) if action == "schedule" else Delay(item.qbo_id, on)
            )
            return change, on, params
        if action == "chase":
            return Chase(item.qbo_id), None, params
        return Skip("bill" if item.entity_type == "bill" else "invoice", item.qbo_id), None, params

    def _detail_view(self, ctx: _Context, row: RowView) -> DetailView:
        others = self._plan_without(ctx, row.entity_type, row.qbo_id).plan
        decision = row.decision
        if row.entity_type == "bill" and row.qbo_id in ctx.bills:
            bill = ctx.bills[row.qbo_id]
            return self._bill_detail(ctx, row, bill, others, decision)
        invoice = ctx.invoices.get(row.qbo_id)
        if invoice is None:
            return DetailView(row, "", "", None, None, (), None, None, (), None, False, "")
        return self._invoice_detail(ctx, row, invoice, others, decision)

    def _bill_detail(
        self,
        ctx: _Context,
        row: RowView,
        bill: BillSnap,
        others: DecisionPlan,
        decision: DecisionView | None,
    ) -> DetailView:
        basis = effective_due_basis(bill, ctx.index)
        base = max(basis.on, ctx.as_of)
        options: list[tuple[str, str, dt.date | None, DecisionChange]] = [
            ("Pay now", "pay_now", ctx.as_of, PayNow(bill.qbo_id)),
            ("On due date", "schedule", base, Schedule(bill.qbo_id, base)),
            (
                "Delay 7 days",
                "delay",
                base + dt.timedelta(days=7),
                Delay(bill.qbo_id, base + dt.timedelta(days=7)),
            ),
            (
                "Delay 14 days",
                "delay",
                base + dt.timedelta(days=14),
                Delay(bill.qbo_id, base + dt.timedelta(days=14)),
            ),
        ]
        what_ifs = self._what_ifs(ctx, options, others, decision, bill.qbo_id)
        vendor = ctx.index.vendors.get(bill.vendor_qbo_id)
        term_id = bill.sales_term_qbo_id or (vendor.term_qbo_id if vendor is not None else None)
        term = ctx.index.terms.get(term_id) if term_id is not None else None
        discount = None
        if term is not None and term.discount_percent and term.discount_days is not None:
            deadline = bill.txn_date + dt.timedelta(days=term.discount_days)
            pct = term.discount_percent
            annual = None
            if term.due_days is not None and term.due_days > term.discount_days and pct < 100:
                annual = (
                    pct / (100 - pct) * Decimal(365) / (term.due_days - term.discount_days) * 100
                ).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            discount = DiscountView(
                percent=pct,
                deadline=deadline,
                amount_cents=_discount_amount(row.amount_cents, pct),
                open=ctx.as_of <= deadline,
                annualised_percent=annual,
            )
        paid_on: dict[str, dt.date] = {}
        for payment in ctx.snapshot.bill_payments:
            for bill_id in payment.linked_bill_ids:
                if payment.txn_date > paid_on.get(bill_id, dt.date.min):
                    paid_on[bill_id] = payment.txn_date
        history = sorted(
            (
                b
                for b in ctx.snapshot.bills
                if b.vendor_qbo_id == bill.vendor_qbo_id and b.qbo_id != bill.qbo_id
            ),
            key=lambda b: (b.txn_date, b.qbo_id),
            reverse=True,
        )[:HISTORY_ROWS]
        return DetailView(
            row=row,
            party_label="Vendor",
            due_basis=_basis_text(basis.source, basis.term_name, basis.days_after_txn),
            term_name=term.name if term is not None else None,
            discount=discount,
            history=tuple(_history_row(ctx, b, paid_on.get(b.qbo_id)) for b in history),
            typical_lateness_days=None,
            expected_on=None,
            what_ifs=what_ifs,
            bill_email=None,
            can_flag_critical=ctx.business.can(Capability.APPROVE),
            party_qbo_id=bill.vendor_qbo_id,
        )

    def _invoice_detail(
        self,
        ctx: _Context,
        row: RowView,
        invoice: InvoiceSnap,
        others: DecisionPlan,
        decision: DecisionView | None,
    ) -> DetailView:
        basis = effective_due_basis(invoice, ctx.index)
        lateness = typical_lateness(ctx.snapshot, invoice.customer_qbo_id, ctx.as_of)
        chased_on = max(ctx.as_of + dt.timedelta(days=7), basis.on)
        what_ifs = self._what_ifs(
            ctx, [("Chase", "chase", chased_on, Chase(invoice.qbo_id))], others, decision, None
        )
        paid_on: dict[str, dt.date] = {}
        for payment in ctx.snapshot.payments:
            if payment.txn_date > ctx.as_of:
                continue
            for invoice_id in payment.linked_invoice_ids:
                if payment.txn_date > paid_on.get(invoice_id, dt.date.min):
                    paid_on[invoice_id] = payment.txn_date
        history = sorted(
            (
                i
                for i in ctx.snapshot.invoices
                if i.customer_qbo_id == invoice.customer_qbo_id and i.qbo_id != invoice.qbo_id
            ),
            key=lambda i: (i.txn_date, i.qbo_id),
            reverse=True,
        )[:HISTORY_ROWS]
        expected = None if row.doubtful else max(basis.on + dt.timedelta(days=lateness), ctx.as_of)
        return DetailView(
            row=row,
            party_label="Customer",
            due_basis=_basis_text(basis.source, basis.term_name, basis.days_after_txn),
            term_name=basis.term_name,
            discount=None,
            history=tuple(
                _history_row(ctx, i, paid_on.get(i.qbo_id) if i.balance_cents == 0 else None) for i in history
            ),
            typical_lateness_days=lateness,
            expected_on=expected,
            what_ifs=what_ifs,
            bill_email=self._bill_email(ctx, invoice.qbo_id),
            can_flag_critical=False,
            party_qbo_id=invoice.customer_qbo_id,
        )

    def _bill_email(self, ctx: _Context, invoice_id: str) -> str | None:
        return ctx.data.bill_emails.get(invoice_id)

    def _what_ifs(
        self,
        ctx: _Context,
        options: list[tuple[str, str, dt.date | None, DecisionChange]],
        others: DecisionPlan,
        decision: DecisionView | None,
        qbo_id: str | None,
    ) -> tuple[WhatIfView, ...]:
        impacts = tuple(ctx.forecast.impact_on(others, [o[3]]) for o in options)
        views = []
        for (label, verb, on, _), result in zip(options, impacts, strict=True):
            current = (
                decision is not None
                and decision.status not in (DONE,)
                and decision.verb == verb
                and (verb in ("pay_now", "chase") or decision.planned_on == on)
            )
            views.append(WhatIfView(label, verb, on, _delta_of(result, qbo_id), current))
        return tuple(views)


# --- small helpers --------------------------------------------------------------------------------


def _with_form(row: RowView, form: FormView) -> RowView:
    return replace(row, mode=form.verb, form=form)


def _absent_reason(ctx: _Context, doc: BillSnap | InvoiceSnap | None, decision: DecisionRecord | None) -> str:
    if ctx.hidden(decision):
        return "finalized this week"
    if doc is None:
        return "no longer in QuickBooks' data (deleted, or not synced yet)"
    if not doc.is_open:
        return "paid or closed in QuickBooks since"
    if isinstance(doc, BillSnap):
        return "not due within the next 14 days any more"
    return "not past due any more"


def _basis_text(source: str, term_name: str | None, days: int | None) -> str:
    if source == "due_date":
        return "Due date from QuickBooks"
    if source == "own_terms":
        return f"No due date: {days} days after its date, from its own terms ({term_name})"
    if source == "party_terms":
        return f"No due date: {days} days after its date, from the party's terms ({term_name})"
    return f"No due date or terms: assumed due {days} days after its date"


def _history_row(ctx: _Context, doc: BillSnap | InvoiceSnap, paid_on: dt.date | None) -> HistoryRowView:
    due = effective_due_basis(doc, ctx.index).on
    kind = "Bill" if isinstance(doc, BillSnap) else "Invoice"
    return HistoryRowView(
        label=f"{kind} {doc.doc_number or doc.qbo_id}",
        txn_date=doc.txn_date,
        amount_cents=doc.home_total(ctx.currency),
        due_date=due,
        paid_on=paid_on if not doc.is_open else None,
        days_after_due=(paid_on - due).days if paid_on is not None and not doc.is_open else None,
        open_cents=doc.home_balance(ctx.currency),
    )


def _decision_view(decision: DecisionRecord) -> DecisionView:
    current = decision.qbo_current or {}
    shown: list[tuple[str, str]] = []
    for key, label in (
        ("Balance", "Balance"),
        ("DueDate", "Due date"),
        ("PrivateNote", "Private note"),
        ("SyncToken", "Version (SyncToken)"),
    ):
        if key in current and current[key] not in (None, ""):
            shown.append((label, str(current[key])))
    updated = (current.get("MetaData") or {}).get("LastUpdatedTime") if isinstance(current, dict) else None
    if updated:
        shown.append(("Last changed in QuickBooks", str(updated)))
    return DecisionView(
        id=decision.id,
        seen=decision.seen,
        verb=decision.verb,
        verb_label=VERB_LABELS.get(decision.verb, decision.verb),
        planned_on=decision.planned_on,
        bank_account_name=decision.parameters.get("bank_account_name"),
        note=decision.parameters.get("note"),
        status=decision.status,
        status_label=STATUS_LABELS.get(decision.status, decision.status),
        delta=DeltaView(
            delta_days=decision.delta_runway_days,
            direction=decision.delta_direction,
            new_cash_zero_date=decision.new_cash_zero_date,
            new_lowest_cash_cents=decision.new_lowest_cash_cents,
            days_past_terms=decision.days_past_terms,
        ),
        decided_by_label=decision.decided_by_label,
        decided_at=decision.decided_at,
        approved_by_label=decision.approved_by_label,
        result_message=decision.result_message,
        result_qbo_id=decision.result_qbo_id,
        qbo_current=tuple(shown),
        idempotency_key=decision.idempotency_key,
    )


def _finalize_view(business_id: int, progress: BatchProgress, *, waiting: bool) -> FinalizeView:
    items = tuple(
        FinalizeItemView(
            label=f"{'Bill' if i.entity_type == 'bill' else 'Invoice'} {i.doc_number or i.qbo_id}",
            party_name=i.party_name or "",
            verb_label=VERB_LABELS.get(i.verb, i.verb),
            outcome=i.outcome,
            message=i.message,
        )
        for i in progress.items
    )
    return FinalizeView(
        business_id=business_id,
        batch_id=progress.batch_id,
        total=len(items),
        done=progress.count(DONE),
        failed=progress.count(FAILED),
        conflict=progress.count(CONFLICT),
        remaining=progress.count("pending", "running"),
        finished=progress.finished,
        waiting=waiting,
        started_by_label=progress.started_by_label,
        items=items,
    )


def _amount(cents: int) -> str:
    return str(Decimal(cents).scaleb(-2))


def _csv_text(value: object) -> str:
    """Text for a CSV cell; a leading =, +, - or @ is quoted so spreadsheets do not run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
