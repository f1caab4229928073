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

A null runway means "not burning", which is longer than any finite runway. The delta is therefore:
after - before when both are finite; 0 when neither run is burning; ``None`` when the change crosses
the not-burning line, with ``direction`` saying which way ("longer" when it stops the burn, "shorter"
when it starts one). Running totals skip ``None`` deltas and should show the crossing in words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from domains.core.money import CurrencyMismatchError
from runway.services.calculators.arithmetic import div_round_half_away
from runway.services.calculators.runway_calculator import RunwayCalculator, RunwayResult, effective_due_date
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
        old, new = self.before.runway.cash_zero_date, self.new_cash_zero_date
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
    bill_ids = {b.qbo_id for b in snapshot.bills}
    invoice_ids = {i.qbo_id for i in snapshot.invoices}

    for change in changes:
        if isinstance(change, Skip):
            continue
        if isinstance(change, PayNow | Schedule | Delay):
            bill = next((b for b in snapshot.bills if b.qbo_id == change.bill_qbo_id), None)
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
            edited = _apply_fix(snapshot, change, bill_ids, invoice_ids)
            if edited is None:
                ignored.append(change)
                continue
            snapshot = edited
            bill_ids = {b.qbo_id for b in snapshot.bills}

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
    snapshot: BusinessSnapshot, fix: Change, bill_ids: set[str], invoice_ids: set[str]
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

    def _run(self, inputs: AppliedChanges, as_of: dt.date) -> RunwayResult:
        return self.runway.calculate(
            inputs.snapshot,
            as_of,
            planned_dates=inputs.planned_dates,
            chased_invoice_ids=inputs.chased_invoice_ids,
        )
