"""Calculator: what a decision or hygiene fix does to the runway, before it is taken (PRODUCT §3, §5).

Every change is applied to a copy of the inputs and the same `RunwayCalculator` simulation is run again;
the three deltas are read off the two results: delta runway days, the new cash-zero date and the new
lowest (weekly ending) cash. Money is integer cents of the home currency; ``as_of`` is the business-local
date both runs start on.

Decisions move dates: pay now (the bill's outflow moves to ``as_of``), schedule (to a date, default the
effective due date), delay (to a date), chase (the invoice is expected on the later of ``as_of`` + 7 days
and its effective due date, without the customer's lateness); skip changes nothing. Hygiene fixes change
the data: set a due date, set vendor terms, record a bill paid outside QBO, delete a duplicate bill, apply
an unapplied payment to an invoice. Later changes to the same item override earlier ones.

`PreparedForecast` prices decisions (not fixes) on one forecast run kept ready: a decision only moves one
event's date, so a plan is the base run's days with those events moved — O(decisions + days) instead of a
run over every document, with the same figures (a property test holds it to `ImpactCalculator.impact`).

A null runway means "not burning", which is longer than any finite runway. The delta is therefore:
after - before when both are finite; 0 when neither run is burning; ``None`` when the change crosses
the not-burning line, with ``direction`` saying which way ("longer" when it stops the burn, "shorter"
when it starts one). Running totals skip ``None`` deltas and should show the crossing in words.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from domains.core.money import CurrencyMismatchError
from runway.services.calculators.arithmetic import div_round_half_away, monday_of
from runway.services.calculators.runway_calculator import (
    CHASE_DAYS,
    CashEvent,
    DayBalance,
    Runway,
    RunwayCalculator,
    RunwayResult,
    effective_due_date,
    grid_of_days,
    runway_of_days,
)
from runway.services.calculators.snapshots import (
    BillSnap,
    BusinessSnapshot,
    EntityKind,
    InvoiceSnap,
    PlannedDate,
    RunwaySettings,
    SnapshotIndex,
)

Direction = Literal["shorter", "longer", "unchanged"]


@dataclass(frozen=True, slots=True)
class PayNow:
    """Decision ``p``: the bill's outflow moves to ``as_of``."""

    bill_qbo_id: str


@dataclass(frozen=True, slots=True)
class Schedule:
    """Decision ``s``: the bill's outflow moves to ``on`` (its effective due date when ``None``)."""

    bill_qbo_id: str
    on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Delay:
    """Decision ``d``: the bill's outflow moves to ``on`` (usually past terms)."""

    bill_qbo_id: str
    on: dt.date


@dataclass(frozen=True, slots=True)
class Chase:
    """Decision ``c``: expected on max(``as_of`` + 7 days, effective due date), lateness dropped."""

    invoice_qbo_id: str


@dataclass(frozen=True, slots=True)
class Skip:
    """Decision ``x``: no effect on the forecast."""

    entity_type: EntityKind
    qbo_id: str


@dataclass(frozen=True, slots=True)
class SetDueDate:
    """Hygiene fix: set a bill's or invoice's ``DueDate``."""

    entity_type: EntityKind
    qbo_id: str
    due_date: dt.date


@dataclass(frozen=True, slots=True)
class SetVendorTerms:
    """Hygiene fix: set a vendor's ``TermRef`` (drives bills without ``DueDate`` or own terms)."""

    vendor_qbo_id: str
    term_qbo_id: str


@dataclass(frozen=True, slots=True)
class RecordBillPaid:
    """Hygiene fix: record a payment made outside QBO; the bill closes and cash now is unchanged."""

    bill_qbo_id: str


@dataclass(frozen=True, slots=True)
class DeleteBill:
    """Hygiene fix: delete a duplicate bill in QBO."""

    bill_qbo_id: str


@dataclass(frozen=True, slots=True)
class ApplyPayment:
    """Hygiene fix: apply a payment's unapplied amount to an open invoice of the same currency."""

    payment_qbo_id: str
    invoice_qbo_id: str


DecisionChange = PayNow | Schedule | Delay | Chase | Skip

Change = (
    PayNow
    | Schedule
    | Delay
    | Chase
    | Skip
    | SetDueDate
    | SetVendorTerms
    | RecordBillPaid
    | DeleteBill
    | ApplyPayment
)


@dataclass(frozen=True, slots=True)
class ImpactResult:
    """The three deltas of a set of changes, and the two full runs they come from.

    Attributes:
        delta_runway_days: After - before in days; 0 when neither run is burning; ``None`` when the
            change crosses the not-burning line (see ``direction``).
        direction: ``shorter``, ``longer`` or ``unchanged``.
        new_cash_zero_date: Cash-zero date after the change (``None``: not burning).
        new_lowest_cash_cents: Lowest weekly ending cash (W1-W13) after the change.
        delta_lowest_cash_cents: After - before lowest weekly ending cash.
        days_past_terms: For schedule/delay decisions planned after the bill's effective due date, the
            days past terms by bill Id.
        ignored: Changes naming an item not in the snapshot (or not applicable), left out of the run.
        before: The run without the changes.
        after: The run with them.
    """

    delta_runway_days: int | None
    direction: Direction
    new_cash_zero_date: dt.date | None
    new_lowest_cash_cents: int
    delta_lowest_cash_cents: int
    days_past_terms: dict[str, int] = field(hash=False)
    ignored: tuple[Change, ...]
    before: RunwayResult
    after: RunwayResult

    def describe(self) -> str:
        """The effect in plain words, e.g. "moves the cash-zero date from 14 Mar 2025 to 3 Mar 2025"."""
        return describe_move(self.before.runway.cash_zero_date, self.new_cash_zero_date)


def describe_move(old: dt.date | None, new: dt.date | None) -> str:
    """A change of the cash-zero date (``None``: not burning) in plain words."""
    if old == new:
        return "leaves the cash-zero date unchanged" if old else "leaves the business not burning"
    if old is None:
        return f"starts a burn: cash reaches zero on {_day(new)}"
    if new is None:
        return f"stops the burn: cash no longer reaches zero (was {_day(old)})"
    return f"moves the cash-zero date from {_day(old)} to {_day(new)}"


def _day(day: dt.date | None) -> str:
    return "" if day is None else f"{day.day} {day:%b %Y}"


def runway_delta(before: int | None, after: int | None) -> tuple[int | None, Direction]:
    """Delta of two runway lengths in days, where ``None`` means not burning (longer than any number).

    Returns:
        (after - before, direction) when both are numbers; (0, "unchanged") when both are ``None``;
        (``None``, "longer") when the burn stops; (``None``, "shorter") when a burn starts.
    """
    if before is None and after is None:
        return 0, "unchanged"
    if before is None:
        return None, "shorter"
    if after is None:
        return None, "longer"
    delta = after - before
    return delta, "longer" if delta > 0 else "shorter" if delta < 0 else "unchanged"


@dataclass(frozen=True, slots=True)
class AppliedChanges:
    """Inputs of a run with changes applied: the edited snapshot, planned dates and chased invoices."""

    snapshot: BusinessSnapshot
    planned_dates: tuple[PlannedDate, ...]
    chased_invoice_ids: frozenset[str]
    days_past_terms: dict[str, int] = field(hash=False)
    ignored: tuple[Change, ...]


def apply_changes(snapshot: BusinessSnapshot, as_of: dt.date, changes: Iterable[Change]) -> AppliedChanges:
    """Apply decisions and fixes in order; a later change to the same item overrides an earlier one.

    Args:
        snapshot: The business snapshot.
        as_of: The day "pay now" pays on and chases count from.
        changes: Decisions and hygiene fixes, oldest first.

    Returns:
        The edited inputs for `RunwayCalculator.calculate`.

    Raises:
        CurrencyMismatchError: A payment is applied to an invoice in another currency.
    """
    planned: dict[tuple[EntityKind, str], dt.date] = {}
    chased: set[str] = set()
    ignored: list[Change] = []
    bills = {b.qbo_id: b for b in snapshot.bills}
    invoice_ids = {i.qbo_id for i in snapshot.invoices}

    for change in changes:
        if isinstance(change, Skip):
            continue
        if isinstance(change, PayNow | Schedule | Delay):
            bill = bills.get(change.bill_qbo_id)
            if bill is None:
                ignored.append(change)
                continue
            if isinstance(change, PayNow):
                on = as_of
            elif change.on is None:
                on = effective_due_date(bill, snapshot)
            else:
                on = change.on
            planned[("bill", bill.qbo_id)] = on
        elif isinstance(change, Chase):
            if change.invoice_qbo_id not in invoice_ids:
                ignored.append(change)
                continue
            planned.pop(("invoice", change.invoice_qbo_id), None)
            chased.add(change.invoice_qbo_id)
        else:
            edited = _apply_fix(snapshot, change, bills.keys(), invoice_ids)
            if edited is None:
                ignored.append(change)
                continue
            snapshot = edited
            bills = {b.qbo_id: b for b in snapshot.bills}

    index = SnapshotIndex.of(snapshot)
    past_terms: dict[str, int] = {}
    for bill in snapshot.bills:
        planned_on = planned.get(("bill", bill.qbo_id))
        if planned_on is not None and bill.is_open:
            late = (max(planned_on, as_of) - effective_due_date(bill, index)).days
            if late > 0:
                past_terms[bill.qbo_id] = late
    return AppliedChanges(
        snapshot=snapshot,
        planned_dates=tuple(PlannedDate(kind, qbo_id, on) for (kind, qbo_id), on in planned.items()),
        chased_invoice_ids=frozenset(chased),
        days_past_terms=past_terms,
        ignored=tuple(ignored),
    )


def _apply_fix(
    snapshot: BusinessSnapshot, fix: Change, bill_ids: Collection[str], invoice_ids: Collection[str]
) -> BusinessSnapshot | None:
    """The snapshot with one hygiene fix applied, or ``None`` when the fix names an unknown item."""
    if isinstance(fix, SetDueDate):
        if fix.entity_type == "bill" and fix.qbo_id in bill_ids:
            return replace(snapshot, bills=_edit(snapshot.bills, fix.qbo_id, due_date=fix.due_date))
        if fix.entity_type == "invoice" and fix.qbo_id in invoice_ids:
            return replace(snapshot, invoices=_edit(snapshot.invoices, fix.qbo_id, due_date=fix.due_date))
        return None
    if isinstance(fix, SetVendorTerms):
        if not any(v.qbo_id == fix.vendor_qbo_id for v in snapshot.vendors):
            return None
        vendors = tuple(
            replace(v, term_qbo_id=fix.term_qbo_id) if v.qbo_id == fix.vendor_qbo_id else v
            for v in snapshot.vendors
        )
        return replace(snapshot, vendors=vendors)
    if isinstance(fix, RecordBillPaid):
        if fix.bill_qbo_id not in bill_ids:
            return None
        bills = _edit(snapshot.bills, fix.bill_qbo_id, balance_cents=0, home_balance_cents=None)
        return replace(snapshot, bills=bills)
    if isinstance(fix, DeleteBill):
        if fix.bill_qbo_id not in bill_ids:
            return None
        return replace(snapshot, bills=tuple(b for b in snapshot.bills if b.qbo_id != fix.bill_qbo_id))
    if isinstance(fix, ApplyPayment):
        return _apply_payment(snapshot, fix)
    return None


_Item = TypeVar("_Item", BillSnap, InvoiceSnap)


def _edit(items: tuple[_Item, ...], qbo_id: str, **fields: Any) -> tuple[_Item, ...]:
    return tuple(replace(item, **fields) if item.qbo_id == qbo_id else item for item in items)


def _apply_payment(snapshot: BusinessSnapshot, fix: ApplyPayment) -> BusinessSnapshot | None:
    payment = next((p for p in snapshot.payments if p.qbo_id == fix.payment_qbo_id), None)
    invoice = next((i for i in snapshot.invoices if i.qbo_id == fix.invoice_qbo_id), None)
    if payment is None or invoice is None or payment.unapplied_cents <= 0 or not invoice.is_open:
        return None
    home = snapshot.home_currency
    if (payment.currency or home) != (invoice.currency or home):
        raise CurrencyMismatchError(
            f"Payment {payment.qbo_id} ({payment.currency or home}) cannot be applied to "
            f"Invoice {invoice.qbo_id} ({invoice.currency or home})"
        )
    applied = min(payment.unapplied_cents, invoice.balance_cents)
    new_balance = invoice.balance_cents - applied
    home_balance = invoice.home_balance_cents
    if home_balance is not None:
        # QBO's home figure shrinks in proportion; it is recomputed exactly at the next sync.
        home_balance = div_round_half_away(home_balance * new_balance, invoice.balance_cents)
    invoices = tuple(
        replace(i, balance_cents=new_balance, home_balance_cents=home_balance)
        if i.qbo_id == invoice.qbo_id
        else i
        for i in snapshot.invoices
    )
    payments = tuple(
        replace(
            p,
            unapplied_cents=p.unapplied_cents - applied,
            linked_invoice_ids=(*p.linked_invoice_ids, invoice.qbo_id),
        )
        if p.qbo_id == payment.qbo_id
        else p
        for p in snapshot.payments
    )
    return replace(snapshot, invoices=invoices, payments=payments)


class ImpactCalculator:
    """Re-runs the runway with decisions and fixes applied and reports the three deltas."""

    def __init__(self, settings: RunwaySettings | None = None) -> None:
        """Create a calculator.

        Args:
            settings: The firm's runway settings (PRODUCT §3 defaults when omitted).
        """
        self.runway = RunwayCalculator(settings)

    def impact(
        self,
        snapshot: BusinessSnapshot,
        as_of: dt.date,
        changes: Iterable[Change],
        *,
        already_decided: Iterable[Change] = (),
    ) -> ImpactResult:
        """Deltas of ``changes`` on top of the decisions already taken.

        Args:
            snapshot: The business snapshot.
            as_of: Business-local date both runs start on.
            changes: The decisions/fixes being considered, oldest first.
            already_decided: Decisions already queued, applied to both runs (the "before" plan).

        Returns:
            The deltas and both runs.
        """
        decided = tuple(already_decided)
        before_inputs = apply_changes(snapshot, as_of, decided)
        after_inputs = apply_changes(snapshot, as_of, (*decided, *changes))
        before = self._run(before_inputs, as_of)
        after = self._run(after_inputs, as_of)
        delta, direction = runway_delta(before.runway.days, after.runway.days)
        new_ignored = after_inputs.ignored[len(before_inputs.ignored) :]
        return ImpactResult(
            delta_runway_days=delta,
            direction=direction,
            new_cash_zero_date=after.runway.cash_zero_date,
            new_lowest_cash_cents=after.lowest_cash_cents,
            delta_lowest_cash_cents=after.lowest_cash_cents - before.lowest_cash_cents,
            days_past_terms=after_inputs.days_past_terms,
            ignored=new_ignored,
            before=before,
            after=after,
        )

    def each(
        self,
        snapshot: BusinessSnapshot,
        as_of: dt.date,
        changes: Iterable[Change],
        *,
        already_decided: Iterable[Change] = (),
    ) -> tuple[ImpactResult, ...]:
        """The deltas of each change on its own (on top of ``already_decided``), in the given order."""
        decided = tuple(already_decided)
        return tuple(self.impact(snapshot, as_of, (change,), already_decided=decided) for change in changes)

    def prepare(self, snapshot: BusinessSnapshot, as_of: dt.date) -> PreparedForecast:
        """One run of ``snapshot`` kept ready to price decision plans on (see `PreparedForecast`)."""
        return PreparedForecast(self.runway, snapshot, as_of)

    def _run(self, inputs: AppliedChanges, as_of: dt.date) -> RunwayResult:
        return self.runway.calculate(
            inputs.snapshot,
            as_of,
            planned_dates=inputs.planned_dates,
            chased_invoice_ids=inputs.chased_invoice_ids,
        )


@dataclass(frozen=True, slots=True)
class PlanFigures:
    """The figures of one run that decisions can move (the rest of a run stays as the base run's)."""

    cash_now_cents: int
    cash_net_of_cards_cents: int
    runway: Runway
    lowest_cash_cents: int
    lowest_cash_week: int

    @classmethod
    def of(cls, result: RunwayResult) -> PlanFigures:
        return cls(
            cash_now_cents=result.cash_now_cents,
            cash_net_of_cards_cents=result.cash_net_of_cards_cents,
            runway=result.runway,
            lowest_cash_cents=result.lowest_cash_cents,
            lowest_cash_week=result.lowest_cash_week,
        )


@dataclass(frozen=True, slots=True)
class PlanImpact:
    """`ImpactResult`'s deltas for decisions, with the moved figures of both runs (see `PreparedForecast`)."""

    delta_runway_days: int | None
    direction: Direction
    new_cash_zero_date: dt.date | None
    new_lowest_cash_cents: int
    delta_lowest_cash_cents: int
    days_past_terms: dict[str, int] = field(hash=False)
    ignored: tuple[Change, ...]
    before: PlanFigures
    after: PlanFigures
    # The plan with the changes in, to extend further.
    plan: DecisionPlan = field(compare=False, repr=False)

    def describe(self) -> str:
        """The effect in plain words, as `ImpactResult.describe`."""
        return describe_move(self.before.runway.cash_zero_date, self.new_cash_zero_date)


class DecisionPlan:
    """Decisions applied in order on a `PreparedForecast`, as `apply_changes` applies them.

    Keeps, per day, how much each kind of cash event moved onto (+) or off (-) that day, up to date as
    decisions are added: a plan's figures cost O(days), adding a decision O(1), and a plan of many
    decisions can be kept and extended by one (see `PreparedForecast.impact_on`).
    """

    def __init__(self, forecast: PreparedForecast, parent: DecisionPlan | None = None) -> None:
        self.forecast = forecast
        # Weak: a plan is extended at every keypress, and a strong reference kept every plan before it
        # alive (each with its own copies of the dicts below) for as long as the last one was kept.
        self._parent = weakref.ref(parent) if parent is not None else None
        self.planned: dict[str, dt.date] = dict(parent.planned) if parent else {}
        self.chased: set[str] = set(parent.chased) if parent else set()
        self.ignored: list[Change] = list(parent.ignored) if parent else []
        self.receipts: dict[dt.date, int] = defaultdict(int, parent.receipts if parent else {})
        self.disbursements: dict[dt.date, int] = defaultdict(int, parent.disbursements if parent else {})
        # The day each moved event sits on now, and the bills planned since `parent`.
        self._moved: dict[tuple[str, str], dt.date] = dict(parent._moved) if parent else {}
        self.touched: set[str] = set()
        self._figures: PlanFigures | None = None

    @property
    def parent(self) -> DecisionPlan | None:
        """The plan this one was extended from, while it is still in use."""
        return self._parent() if self._parent is not None else None

    def extended(self, changes: Iterable[DecisionChange]) -> DecisionPlan:
        """A new plan: this one with ``changes`` added (this one is left as it is)."""
        plan = DecisionPlan(self.forecast, self)
        for change in changes:
            plan.add(change)
        return plan

    def add(self, change: DecisionChange) -> None:
        # As `apply_changes`: a later decision on the same item wins; unknown items are ignored.
        forecast = self.forecast
        self._figures = None
        if isinstance(change, Skip):
            return
        if isinstance(change, Chase):
            if change.invoice_qbo_id not in forecast.invoice_ids:
                self.ignored.append(change)
                return
            self.chased.add(change.invoice_qbo_id)
            event = forecast.events.get(("invoice", change.invoice_qbo_id))
            if event is not None:  # closed and doubtful invoices have no event to move
                self._move(event, max(forecast.chase_on, event.effective_due_date, forecast.as_of))
            return
        if not isinstance(change, PayNow | Schedule | Delay):
            raise TypeError(f"a prepared forecast prices decisions, not {type(change).__name__}")
        bill = forecast.bills.get(change.bill_qbo_id)
        if bill is None:
            self.ignored.append(change)
            return
        if isinstance(change, PayNow):
            on = forecast.as_of
        elif change.on is None:
            on = effective_due_date(bill, forecast.index)
        else:
            on = change.on
        self.planned[bill.qbo_id] = on
        self.touched.add(bill.qbo_id)
        event = forecast.events.get(("bill", bill.qbo_id))
        if event is not None:  # a closed bill has no event to move
            self._move(event, max(on, forecast.as_of))

    def _move(self, event: CashEvent, on: dt.date) -> None:
        shifts = self.receipts if event.kind == "invoice" else self.disbursements
        key = (event.kind, event.qbo_id)
        shifts[self._moved.get(key, event.on)] -= event.amount_cents
        shifts[on] += event.amount_cents
        self._moved[key] = on

    def figures(self) -> PlanFigures:
        """The run with this plan's moves (computed once per state of the plan)."""
        if self._figures is None:
            self._figures = self.forecast.figures(self)
        return self._figures

    def days_past_terms(self, bill_ids: Iterable[str]) -> dict[str, int]:
        """Days past its effective due date of each of ``bill_ids`` this plan pays late."""
        late_by: dict[str, int] = {}
        events, as_of = self.forecast.events, self.forecast.as_of
        for qbo_id in bill_ids:
            on = self.planned.get(qbo_id)
            event = events.get(("bill", qbo_id))
            if (
                on is not None
                and event is not None
                and (late := (max(on, as_of) - event.effective_due_date).days) > 0
            ):
                late_by[qbo_id] = late
        return late_by


class PreparedForecast:
    """One forecast run of a snapshot, kept to price decision plans on it without running it again.

    Decisions move the date of one cash event each (pay now, schedule, delay: the bill's outflow; chase:
    the invoice's receipt), so a plan's daily balances are the base run's with those amounts moved.
    `impact` answers what `ImpactCalculator.impact` answers for the same decisions (days past terms for
    the bills the changes plan); it does not take hygiene fixes, which change the snapshot itself.
    """

    def __init__(self, calculator: RunwayCalculator, snapshot: BusinessSnapshot, as_of: dt.date) -> None:
        self.as_of = as_of
        self.chase_on = as_of + dt.timedelta(days=CHASE_DAYS)
        self.base = calculator.calculate(snapshot, as_of)
        self.settings = calculator.settings
        self._monday = monday_of(as_of)
        self.invoice_ids = frozenset(i.qbo_id for i in snapshot.invoices)
        self.bills = {b.qbo_id: b for b in snapshot.bills}
        self.index = SnapshotIndex.of(snapshot)
        self.events: dict[tuple[str, str], CashEvent] = {
            (e.kind, e.qbo_id): e for e in (*self.base.events, *self.base.later_events)
        }
        self._base_figures = PlanFigures.of(self.base)

    def plan(self, changes: Iterable[DecisionChange] = ()) -> DecisionPlan:
        """A plan of ``changes`` (oldest first) on this run."""
        return DecisionPlan(self).extended(changes)

    def impact(
        self, changes: Iterable[DecisionChange], *, already_decided: Iterable[DecisionChange] = ()
    ) -> PlanImpact:
        """Deltas of ``changes`` on top of ``already_decided`` (both oldest first)."""
        return self.impact_on(self.plan(already_decided), changes)

    def impact_on(self, plan: DecisionPlan, changes: Iterable[DecisionChange]) -> PlanImpact:
        """Deltas of ``changes`` on top of an existing plan (left as it is; the result holds the new one)."""
        return self.compare(plan, plan.extended(changes))

    def compare(self, before: DecisionPlan, after: DecisionPlan, *, past_terms: bool = True) -> PlanImpact:
        """The deltas from one plan to another (``past_terms=False``: leave days past terms out)."""
        old, new = before.figures(), after.figures()
        delta, direction = runway_delta(old.runway.days, new.runway.days)
        # A plan extended from `before` knows which bills it planned; another is compared item by item.
        changed: Iterable[str] = (
            ()
            if not past_terms
            else after.touched
            if after.parent is before
            else [b for b, on in after.planned.items() if before.planned.get(b) != on]
        )
        # Plans are built oldest decision first, so `after`'s own ignored changes follow `before`'s.
        ignored = tuple(after.ignored[len(before.ignored) :])
        return PlanImpact(
            delta_runway_days=delta,
            direction=direction,
            new_cash_zero_date=new.runway.cash_zero_date,
            new_lowest_cash_cents=new.lowest_cash_cents,
            delta_lowest_cash_cents=new.lowest_cash_cents - old.lowest_cash_cents,
            days_past_terms=after.days_past_terms(changed),
            ignored=ignored,
            before=old,
            after=new,
            plan=after,
        )

    def figures(self, plan: DecisionPlan) -> PlanFigures:
        """The figures of the base run with ``plan``'s moves."""
        receipts = {day: cents for day, cents in plan.receipts.items() if cents}
        disbursements = {day: cents for day, cents in plan.disbursements.items() if cents}
        if not receipts and not disbursements:
            return self._base_figures
        base = self.base
        balance = base.cash_now_cents
        days: list[DayBalance] = []
        for day in base.days:
            received = day.receipts_invoices_cents + receipts.get(day.day, 0)
            paid = day.disbursements_bills_cents + disbursements.get(day.day, 0)
            balance += received + day.receipts_baseline_cents - paid - day.disbursements_baseline_cents
            days.append(
                DayBalance(
                    day.day,
                    received,
                    day.receipts_baseline_cents,
                    paid,
                    day.disbursements_baseline_cents,
                    balance,
                )
            )
        simulated = tuple(days)
        grid = grid_of_days(
            self._monday, self.as_of, base.cash_now_cents, simulated, self.settings.minimum_cash_cents
        )
        lowest_week = min(grid, key=lambda w: (w.ending_cents, w.week))
        return PlanFigures(
            cash_now_cents=base.cash_now_cents,
            cash_net_of_cards_cents=base.cash_net_of_cards_cents,
            runway=runway_of_days(self.as_of, base.cash_now_cents, simulated, self.settings),
            lowest_cash_cents=lowest_week.ending_cents,
            lowest_cash_week=lowest_week.week,
        )
