"""Calculator: the runway of PRODUCT §3 — cash now, dated cash events, daily simulation, 13-week grid.

`RunwayCalculator.calculate` is the one implementation of PRODUCT §3 used by every screen, the report and
the decision deltas. Everything is integer cents of the home currency; ``as_of`` is the business-local
calendar date the forecast starts on ("today" for the screens). The snapshot is taken as current: cash now
and open balances are those of the last sync whatever ``as_of`` is; ``as_of`` only moves the calendar.

`effective_due_date` and `typical_lateness` are exposed for the other calculators (aging, priority,
hygiene) so every screen agrees on them.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from runway.services.calculators.arithmetic import (
    days_to_weeks,
    div_round_half_away,
    monday_of,
    qbo_id_key,
)
from runway.services.calculators.snapshots import (
    BANK,
    CREDIT_CARD,
    BillSnap,
    BusinessSnapshot,
    EntityKind,
    InvoiceSnap,
    PlannedDate,
    RunwaySettings,
    SnapshotIndex,
    Status,
)

GRID_WEEKS = 13
BASELINE_WINDOW_DAYS = 91
DEFAULT_DUE_DAYS = 30
DOUBTFUL_AFTER_DAYS = 90
LATENESS_HISTORY = 12
LATENESS_MIN_DAYS = -30
LATENESS_MAX_DAYS = 90
CHASE_DAYS = 7

DueSource = Literal["due_date", "own_terms", "party_terms", "default"]
EventBasis = Literal["due", "planned", "lateness", "chased"]


@dataclass(frozen=True, slots=True)
class DueDateBasis:
    """How an effective due date was found.

    Attributes:
        on: The effective due date.
        source: ``due_date`` (its own ``DueDate``), ``own_terms`` (its ``SalesTermRef``), ``party_terms``
            (the vendor's ``TermRef`` / customer's ``SalesTermRef``) or ``default`` (30 days).
        days_after_txn: Days added to ``TxnDate``; ``None`` when ``source`` is ``due_date``.
        term_name: Name of the term used, if any.
    """

    on: dt.date
    source: DueSource
    days_after_txn: int | None
    term_name: str | None = None


def _index(source: BusinessSnapshot | SnapshotIndex) -> SnapshotIndex:
    return source if isinstance(source, SnapshotIndex) else SnapshotIndex.of(source)


def effective_due_basis(
    item: BillSnap | InvoiceSnap, source: BusinessSnapshot | SnapshotIndex
) -> DueDateBasis:
    """Effective due date of a bill or invoice, with where it came from (PRODUCT §3).

    ``DueDate``; without one, ``TxnDate`` + ``DueDays`` of its own ``SalesTermRef``, else of the vendor's
    ``TermRef`` (the customer's ``SalesTermRef`` for invoices), else 30 days. A date-driven term (no
    ``DueDays``) or a term missing from the snapshot counts as no term.

    Args:
        item: The bill or invoice.
        source: The snapshot it belongs to, or an index of it (faster when called in a loop).

    Returns:
        The date and its basis.
    """
    if item.due_date is not None:
        return DueDateBasis(item.due_date, "due_date", None)
    index = _index(source)
    candidates: tuple[tuple[DueSource, str | None], ...] = (
        ("own_terms", item.sales_term_qbo_id),
        ("party_terms", index.party_term_id(item)),
    )
    for source_name, term_id in candidates:
        term = index.terms.get(term_id) if term_id is not None else None
        if term is not None and term.due_days is not None:
            return DueDateBasis(
                item.txn_date + dt.timedelta(days=term.due_days),
                source_name,
                term.due_days,
                term.name,
            )
    return DueDateBasis(item.txn_date + dt.timedelta(days=DEFAULT_DUE_DAYS), "default", DEFAULT_DUE_DAYS)


def effective_due_date(item: BillSnap | InvoiceSnap, source: BusinessSnapshot | SnapshotIndex) -> dt.date:
    """Effective due date of a bill or invoice (see `effective_due_basis`)."""
    # Most items carry a DueDate; returning it directly skips building a basis per item in loops.
    if item.due_date is not None:
        return item.due_date
    return effective_due_basis(item, source).on


def typical_lateness_by_customer(
    snapshot: BusinessSnapshot, as_of: dt.date, *, index: SnapshotIndex | None = None
) -> dict[str, int]:
    """Typical lateness in days of every customer that has payment history (PRODUCT §3).

    Per ``CustomerRef`` (sub-customers are not rolled up): its fully paid invoices — ``Balance`` 0 and
    linked by at least one Payment dated on or before ``as_of`` — ordered by the date of their latest
    such Payment, newest first (ties: larger invoice Id first); over the latest 12, the mean of (latest
    Payment date - effective due date) in days, rounded half away from zero, clamped to [-30, 90].

    Args:
        snapshot: The business snapshot.
        as_of: Payments dated after this day are ignored.
        index: An index of ``snapshot``, to avoid rebuilding it.

    Returns:
        Lateness by customer Id; a customer missing from the mapping has no history (lateness 0).
    """
    idx = index if index is not None else SnapshotIndex.of(snapshot)
    history, _open = _split_invoices(snapshot, as_of)
    return _lateness(history, idx)


_PaidHistory = dict[str, list[tuple[dt.date, InvoiceSnap]]]


def _split_invoices(snapshot: BusinessSnapshot, as_of: dt.date) -> tuple[_PaidHistory, list[InvoiceSnap]]:
    """(fully paid invoices with their latest Payment date by customer, open invoices), in one pass.

    The forecast needs both; reading the invoices once instead of twice matters once they no longer fit
    in the CPU cache (a 50k-entity business).
    """
    latest_payment: dict[str, dt.date] = {}
    seen_on = latest_payment.get
    for payment in snapshot.payments:
        paid_on = payment.txn_date
        if paid_on > as_of:
            continue
        for invoice_id in payment.linked_invoice_ids:
            seen = seen_on(invoice_id)
            if seen is None or paid_on > seen:
                latest_payment[invoice_id] = paid_on
    history: _PaidHistory = defaultdict(list)
    open_invoices: list[InvoiceSnap] = []
    paid_date = latest_payment.get
    for invoice in snapshot.invoices:
        balance = invoice.balance_cents
        if balance == 0:
            last_paid = paid_date(invoice.qbo_id)
            if last_paid is not None:
                history[invoice.customer_qbo_id].append((last_paid, invoice))
        elif balance > 0:
            open_invoices.append(invoice)
    return history, open_invoices


def _lateness(history: _PaidHistory, index: SnapshotIndex) -> dict[str, int]:
    result: dict[str, int] = {}
    for customer_id, rows in history.items():
        latest = _latest_paid(rows) if len(rows) > LATENESS_HISTORY else rows
        total = 0
        for paid_on, invoice in latest:
            due = invoice.due_date
            total += (paid_on - (due if due is not None else effective_due_date(invoice, index))).days
        mean = div_round_half_away(total, len(latest))
        result[customer_id] = max(LATENESS_MIN_DAYS, min(LATENESS_MAX_DAYS, mean))
    return result


def _latest_paid(rows: list[tuple[dt.date, InvoiceSnap]]) -> list[tuple[dt.date, InvoiceSnap]]:
    """The 12 rows with the latest payment date, ties broken by the larger invoice Id.

    The same rows as ``heapq.nlargest(12, rows, key=(paid_on, qbo_id_key))``, but the Id key is worked
    out only for the rows tied on the 12th latest date: the mean depends on which rows are chosen, not
    on their order, and most customers have no tie at that date.
    """
    dates = sorted([paid_on for paid_on, _invoice in rows], reverse=True)
    cutoff = dates[LATENESS_HISTORY - 1]
    latest = [row for row in rows if row[0] > cutoff]
    tied = [row for row in rows if row[0] == cutoff]
    wanted = LATENESS_HISTORY - len(latest)
    if len(tied) > wanted:
        tied = heapq.nlargest(wanted, tied, key=lambda row: qbo_id_key(row[1].qbo_id))
    return latest + tied


def typical_lateness(snapshot: BusinessSnapshot, customer_qbo_id: str, as_of: dt.date) -> int:
    """Typical lateness in days of one customer; 0 with no payment history."""
    return typical_lateness_by_customer(snapshot, as_of).get(customer_qbo_id, 0)


@dataclass(frozen=True, slots=True)
class CashEvent:
    """One dated receipt (open invoice) or disbursement (open bill) of the forecast.

    Attributes:
        kind: ``invoice`` (a receipt) or ``bill`` (a disbursement).
        qbo_id: The bill's or invoice's QBO Id.
        party_qbo_id: Its vendor or customer Id.
        on: The day the cash moves in the forecast (never before ``as_of``).
        amount_cents: Open ``Balance`` in cents of the home currency (positive).
        effective_due_date: Its effective due date.
        basis: ``due`` (bill on its effective due date), ``planned`` (a decision's date), ``lateness``
            (invoice: effective due date + the customer's typical lateness), ``chased``.
        lateness_days: The lateness applied (invoices on ``lateness`` basis), else 0.
    """

    kind: EntityKind
    qbo_id: str
    party_qbo_id: str
    on: dt.date
    amount_cents: int
    effective_due_date: dt.date
    basis: EventBasis
    lateness_days: int = 0


@dataclass(frozen=True, slots=True)
class DoubtfulInvoice:
    """An open invoice more than 90 days past its effective due date: listed, contributes nothing."""

    qbo_id: str
    customer_qbo_id: str
    balance_cents: int
    effective_due_date: dt.date
    days_past_due: int


@dataclass(frozen=True, slots=True)
class Baseline:
    """Cash that never passes through AP/AR, averaged over the 13 weeks before the ``as_of`` week.

    Attributes:
        window_start: Monday of the ``as_of`` week - 91 days (inclusive).
        window_end: That Monday - 1 day, a Sunday (inclusive).
        receipts_total_cents: Deposit lines into a Bank account not linked to a Payment + SalesReceipts
            deposited straight to a Bank account, over the window.
        disbursements_total_cents: Purchases paid from a Bank account (refunds negative), over the window.
        weekly_receipts_cents: ``receipts_total_cents`` ÷ 13, rounded half away from zero.
        weekly_disbursements_cents: ``disbursements_total_cents`` ÷ 13, rounded half away from zero.
    """

    window_start: dt.date
    window_end: dt.date
    receipts_total_cents: int
    disbursements_total_cents: int
    weekly_receipts_cents: int
    weekly_disbursements_cents: int

    def on_day(self, day: dt.date) -> tuple[int, int]:
        """(receipts, disbursements) of one day: ⌊weekly ÷ 7⌋ Monday-Saturday, the rest on Sunday."""
        return _day_share(self.weekly_receipts_cents, day), _day_share(self.weekly_disbursements_cents, day)


def _day_share(weekly: int, day: dt.date) -> int:
    share = weekly // 7
    return weekly - 6 * share if day.weekday() == 6 else share


@dataclass(frozen=True, slots=True)
class DayBalance:
    """One simulated day: its receipts and disbursements and the closing balance, in cents."""

    day: dt.date
    receipts_invoices_cents: int
    receipts_baseline_cents: int
    disbursements_bills_cents: int
    disbursements_baseline_cents: int
    balance_cents: int


@dataclass(frozen=True, slots=True)
class GridWeek:
    """One row of the 13-week grid (the report's keys, plus the minimum-cash line).

    Attributes:
        week: 1-13. W1 is the Monday-Sunday week containing ``as_of``.
        start: The week's Monday (W1's even when ``as_of`` is later in the week).
        opening_cents: Cash now for W1, else the previous week's ending.
        receipts_invoices_cents: Invoice receipts on the week's simulated days.
        receipts_baseline_cents: Baseline receipts on the week's simulated days.
        disbursements_bills_cents: Bill disbursements on the week's simulated days.
        disbursements_baseline_cents: Baseline disbursements on the week's simulated days.
        net_change_cents: Receipts - disbursements.
        ending_cents: Balance on the week's Sunday.
        minimum_cash_cents: The firm's minimum-cash line.
        below_minimum: Whether ``ending_cents`` is below that line.
    """

    week: int
    start: dt.date
    opening_cents: int
    receipts_invoices_cents: int
    receipts_baseline_cents: int
    disbursements_bills_cents: int
    disbursements_baseline_cents: int
    net_change_cents: int
    ending_cents: int
    minimum_cash_cents: int
    below_minimum: bool

    @property
    def end(self) -> dt.date:
        """The week's Sunday."""
        return self.start + dt.timedelta(days=6)

    def as_report(self) -> dict[str, int | str]:
        """The row as the report's JSON object (PRODUCT §6 keys only)."""
        return {
            "week": self.week,
            "start": self.start.isoformat(),
            "opening_cents": self.opening_cents,
            "receipts_invoices_cents": self.receipts_invoices_cents,
            "receipts_baseline_cents": self.receipts_baseline_cents,
            "disbursements_bills_cents": self.disbursements_bills_cents,
            "disbursements_baseline_cents": self.disbursements_baseline_cents,
            "net_change_cents": self.net_change_cents,
            "ending_cents": self.ending_cents,
        }


@dataclass(frozen=True, slots=True)
class Runway:
    """The runway reading.

    Attributes:
        days: Cash-zero date - ``as_of``; ``None`` when not burning.
        weeks: ``days`` ÷ 7 rounded to one decimal half away from zero; ``None`` when not burning.
        cash_zero_date: First simulated day below zero, else the extrapolated date; ``None`` when not
            burning, or when that date is past the last one a calendar holds (year 9999).
        status: ``red`` / ``amber`` / ``green`` per the firm's settings (not burning is green).
        not_burning: No simulated day is below zero and ending W13 ≥ cash now.
        within_grid: The cash-zero date falls inside the simulated days (not extrapolated).
    """

    days: int | None
    weeks: Decimal | None
    cash_zero_date: dt.date | None
    status: Status
    not_burning: bool
    within_grid: bool

    def order_key(self) -> tuple[int, int]:
        """Sort key where not burning is longer than any finite runway."""
        return (1, 0) if self.days is None else (0, self.days)


@dataclass(frozen=True, slots=True)
class Burn:
    """Gross and net weekly burn over the completed weeks before the ``as_of`` week.

    Attributes:
        weeks: Window length in weeks (4 or 13).
        window_start: Monday of the ``as_of`` week - 7 x ``weeks`` days.
        window_end: Sunday before the ``as_of`` week.
        outflows_cents: Purchases paid from Bank accounts (refunds negative) + BillPayments paid from
            Bank accounts, dated in the window.
        inflows_cents: Every Deposit line into a Bank account + SalesReceipts and Payments deposited
            straight to a Bank account, dated in the window.
        gross_weekly_cents: ``outflows_cents`` ÷ ``weeks``, rounded half away from zero.
        net_weekly_cents: (``outflows_cents`` - ``inflows_cents``) ÷ ``weeks``, rounded half away from
            zero; negative when the business took in more than it spent.
    """

    weeks: int
    window_start: dt.date
    window_end: dt.date
    outflows_cents: int
    inflows_cents: int
    gross_weekly_cents: int
    net_weekly_cents: int


@dataclass(frozen=True, slots=True)
class RunwayResult:
    """Everything PRODUCT §3 computes for one snapshot and ``as_of``; money in home-currency cents.

    Attributes:
        as_of: The first simulated day.
        snapshot_at: When the snapshot was taken.
        currency: Home currency code.
        has_bank_account: Whether any active Bank account exists (cash now is 0 without one).
        cash_now_cents: Σ ``CurrentBalance`` of active Bank accounts (overdrawn ones negative).
        card_balance_cents: Σ ``CurrentBalance`` of active Credit Card accounts (positive = owed).
        cash_net_of_cards_cents: ``cash_now_cents`` - ``card_balance_cents``, shown beside cash now.
        horizon_end: Sunday of W13, the last simulated day.
        grid: W1-W13.
        days: Every simulated day, ``as_of`` … ``horizon_end``.
        events: Invoice receipts and bill disbursements dated within the grid, by date.
        later_events: Those dated after W13 ("later"), by date.
        doubtful_invoices: Open invoices more than 90 days past their effective due date.
        typical_lateness: Lateness in days by customer Id (customers without history are absent).
        baseline: The baseline window and weekly amounts.
        runway: Days, weeks, cash-zero date, status, not burning.
        lowest_cash_cents: Smallest weekly ending cash of W1-W13.
        lowest_cash_week: The first week with that ending.
        lowest_daily_cents: Smallest simulated daily balance.
        lowest_daily_date: The first day with that balance.
        first_below_minimum_date: First simulated day below the minimum-cash line, if any.
        burn_4w: Weekly burn over the trailing 4 completed weeks.
        burn_13w: Weekly burn over the trailing 13 completed weeks.
        settings: The settings used.
    """

    as_of: dt.date
    snapshot_at: dt.datetime
    currency: str
    has_bank_account: bool
    cash_now_cents: int
    card_balance_cents: int
    cash_net_of_cards_cents: int
    horizon_end: dt.date
    grid: tuple[GridWeek, ...]
    days: tuple[DayBalance, ...]
    events: tuple[CashEvent, ...]
    later_events: tuple[CashEvent, ...]
    doubtful_invoices: tuple[DoubtfulInvoice, ...]
    typical_lateness: Mapping[str, int] = field(hash=False)
    baseline: Baseline
    runway: Runway
    lowest_cash_cents: int
    lowest_cash_week: int
    lowest_daily_cents: int
    lowest_daily_date: dt.date
    first_below_minimum_date: dt.date | None
    burn_4w: Burn
    burn_13w: Burn
    settings: RunwaySettings

    def balance_on(self, day: dt.date) -> int:
        """Simulated closing balance of a day; cash now before ``as_of``."""
        if day < self.as_of:
            return self.cash_now_cents
        if day > self.horizon_end:
            raise ValueError(f"{day} is after the last simulated day {self.horizon_end}")
        return self.days[(day - self.as_of).days].balance_cents

    def week_of(self, day: dt.date) -> int | None:
        """Grid week (1-13) holding a day; ``None`` after W13. Days before ``as_of`` count in W1."""
        if day > self.horizon_end:
            return None
        if day < self.as_of:
            return 1
        return (day - monday_of(self.as_of)).days // 7 + 1


class RunwayCalculator:
    """PRODUCT §3: the runway, the 13-week grid and everything derived from one daily simulation."""

    def __init__(self, settings: RunwaySettings | None = None) -> None:
        """Create a calculator.

        Args:
            settings: The firm's thresholds and minimum-cash line; PRODUCT §3 defaults when omitted.
        """
        self.settings = settings if settings is not None else RunwaySettings()

    def calculate(
        self,
        snapshot: BusinessSnapshot,
        as_of: dt.date,
        *,
        planned_dates: Iterable[PlannedDate] = (),
        chased_invoice_ids: Iterable[str] = (),
    ) -> RunwayResult:
        """Run the forecast.

        Args:
            snapshot: The business snapshot (balances as of its last sync).
            as_of: Business-local date the simulation starts on; only moves the calendar.
            planned_dates: Dates set by decisions. A later entry for the same item wins.
            chased_invoice_ids: Invoices being chased: expected on the later of ``as_of`` + 7 days and
                the effective due date, without the customer's lateness.

        Returns:
            The frozen result.

        Raises:
            MissingExchangeRateError: A foreign-currency amount the forecast needs cannot be converted.
        """
        index = SnapshotIndex.of(snapshot)
        home = index.home
        monday = monday_of(as_of)
        horizon_end = monday + dt.timedelta(days=GRID_WEEKS * 7 - 1)

        bank_accounts = [a for a in snapshot.accounts if a.active and a.account_type == BANK]
        cash_now = sum(a.home_balance(home) for a in bank_accounts)
        cards = sum(
            a.home_balance(home) for a in snapshot.accounts if a.active and a.account_type == CREDIT_CARD
        )

        history, open_invoices = _split_invoices(snapshot, as_of)
        lateness = _lateness(history, index)
        events, doubtful = _cash_events(
            snapshot,
            index,
            as_of,
            lateness,
            planned_dates,
            frozenset(chased_invoice_ids),
            open_invoices,
        )
        in_grid = tuple(e for e in events if e.on <= horizon_end)
        later = tuple(e for e in events if e.on > horizon_end)
        window_end = monday - dt.timedelta(days=1)
        baseline_start = monday - dt.timedelta(days=BASELINE_WINDOW_DAYS)
        burn_starts = {weeks: monday - dt.timedelta(days=7 * weeks) for weeks in (4, GRID_WEEKS)}
        flows = _bank_flows(snapshot, index, (baseline_start, *burn_starts.values()), window_end)
        baseline = _baseline(flows[baseline_start], baseline_start, window_end)
        burns = {weeks: _burn(flows[start], weeks, start, window_end) for weeks, start in burn_starts.items()}

        days = _simulate(as_of, horizon_end, cash_now, in_grid, baseline)
        grid = _grid(monday, as_of, cash_now, days, self.settings.minimum_cash_cents)
        runway = _runway(as_of, cash_now, days, self.settings)

        lowest_week = min(grid, key=lambda w: (w.ending_cents, w.week))
        lowest_day = min(days, key=lambda d: (d.balance_cents, d.day))
        below_min = next((d.day for d in days if d.balance_cents < self.settings.minimum_cash_cents), None)

        return RunwayResult(
            as_of=as_of,
            snapshot_at=snapshot.snapshot_at,
            currency=home,
            has_bank_account=bool(bank_accounts),
            cash_now_cents=cash_now,
            card_balance_cents=cards,
            cash_net_of_cards_cents=cash_now - cards,
            horizon_end=horizon_end,
            grid=grid,
            days=days,
            events=in_grid,
            later_events=later,
            doubtful_invoices=doubtful,
            typical_lateness=lateness,
            baseline=baseline,
            runway=runway,
            lowest_cash_cents=lowest_week.ending_cents,
            lowest_cash_week=lowest_week.week,
            lowest_daily_cents=lowest_day.balance_cents,
            lowest_daily_date=lowest_day.day,
            first_below_minimum_date=below_min,
            burn_4w=burns[4],
            burn_13w=burns[GRID_WEEKS],
            settings=self.settings,
        )


def _cash_events(
    snapshot: BusinessSnapshot,
    index: SnapshotIndex,
    as_of: dt.date,
    lateness: Mapping[str, int],
    planned_dates: Iterable[PlannedDate],
    chased: frozenset[str],
    open_invoices: Iterable[InvoiceSnap],
) -> tuple[tuple[CashEvent, ...], tuple[DoubtfulInvoice, ...]]:
    home = index.home
    planned: dict[tuple[str, str], dt.date] = {}
    for plan in planned_dates:
        planned[(plan.entity_type, plan.qbo_id)] = plan.on
    events: list[CashEvent] = []
    doubtful: list[DoubtfulInvoice] = []

    chase_on = as_of + dt.timedelta(days=CHASE_DAYS)
    # The lookups below run once per open item; the plain attribute reads (rather than `is_open`,
    # `effective_due_date` and `home_balance` calls) give the same values for the common case.
    for invoice in open_invoices:
        due = invoice.due_date
        if due is None:
            due = effective_due_date(invoice, index)
        currency = invoice.currency
        amount = invoice.balance_cents if currency is None or currency == home else invoice.home_balance(home)
        past_due = (as_of - due).days
        if past_due > DOUBTFUL_AFTER_DAYS:
            doubtful.append(DoubtfulInvoice(invoice.qbo_id, invoice.customer_qbo_id, amount, due, past_due))
            continue
        late = 0
        planned_on = planned.get(("invoice", invoice.qbo_id)) if planned else None
        basis: EventBasis
        if planned_on is not None:
            expected, basis = planned_on, "planned"
        elif invoice.qbo_id in chased:
            expected, basis = max(chase_on, due), "chased"
        else:
            late = lateness.get(invoice.customer_qbo_id, 0)
            expected, basis = due + dt.timedelta(days=late), "lateness"
        events.append(
            CashEvent(
                "invoice",
                invoice.qbo_id,
                invoice.customer_qbo_id,
                expected if expected > as_of else as_of,
                amount,
                due,
                basis,
                late,
            )
        )

    for bill in snapshot.bills:
        if bill.balance_cents <= 0:
            continue
        due = bill.due_date
        if due is None:
            due = effective_due_date(bill, index)
        planned_on = planned.get(("bill", bill.qbo_id)) if planned else None
        bill_basis: EventBasis = "due" if planned_on is None else "planned"
        pay_on = due if planned_on is None else planned_on
        currency = bill.currency
        events.append(
            CashEvent(
                "bill",
                bill.qbo_id,
                bill.vendor_qbo_id,
                pay_on if pay_on > as_of else as_of,
                bill.balance_cents if currency is None or currency == home else bill.home_balance(home),
                due,
                bill_basis,
            )
        )

    events.sort(key=lambda e: (e.on, e.kind, qbo_id_key(e.qbo_id)))
    doubtful.sort(key=lambda d: (d.effective_due_date, qbo_id_key(d.qbo_id)))
    return tuple(events), tuple(doubtful)


@dataclass(slots=True)
class _BankFlows:
    """Cash through Bank accounts dated in one window, by source (cents of the home currency)."""

    purchases: int = 0
    bill_payments: int = 0
    deposit_lines: int = 0
    deposit_lines_of_payments: int = 0
    sales_receipts: int = 0
    payments: int = 0


def _bank_flows(
    snapshot: BusinessSnapshot, index: SnapshotIndex, starts: Iterable[dt.date], end: dt.date
) -> dict[dt.date, _BankFlows]:
    """The bank flows of every window from one of ``starts`` through ``end`` (inclusive).

    The baseline and both burns read the same tables over windows that share their last day, so each
    table is read once for all of them; a row outside the widest window costs one date comparison.
    """
    flows = {start: _BankFlows() for start in starts}
    windows = tuple(flows.items())
    first = min(flows)
    bank = index.bank_account_ids
    home = index.home
    for purchase in snapshot.purchases:
        day = purchase.txn_date
        if day < first or day > end or purchase.account_qbo_id not in bank:
            continue
        amount = purchase.home_total(home)
        if purchase.credit:
            amount = -amount
        for start, flow in windows:
            if day >= start:
                flow.purchases += amount
    for bill_payment in snapshot.bill_payments:
        day = bill_payment.txn_date
        if day < first or day > end or bill_payment.paid_from_account_qbo_id not in bank:
            continue
        amount = bill_payment.home_total(home)
        for start, flow in windows:
            if day >= start:
                flow.bill_payments += amount
    for deposit in snapshot.deposits:
        day = deposit.txn_date
        if day < first or day > end or deposit.deposit_to_account_qbo_id not in bank:
            continue
        unlinked = of_payments = 0
        for line in deposit.lines:
            amount = deposit.home(line.amount_cents, home)
            if line.linked_txn_type == "Payment":
                of_payments += amount
            else:
                unlinked += amount
        for start, flow in windows:
            if day >= start:
                flow.deposit_lines += unlinked
                flow.deposit_lines_of_payments += of_payments
    for receipt in snapshot.sales_receipts:
        day = receipt.txn_date
        if day < first or day > end or receipt.deposit_to_account_qbo_id not in bank:
            continue
        amount = receipt.home_total(home)
        for start, flow in windows:
            if day >= start:
                flow.sales_receipts += amount
    for payment in snapshot.payments:
        day = payment.txn_date
        if day < first or day > end or payment.deposit_to_account_qbo_id not in bank:
            continue
        amount = payment.home(payment.total_cents, home)
        for start, flow in windows:
            if day >= start:
                flow.payments += amount
    return flows


def _baseline(flows: _BankFlows, start: dt.date, end: dt.date) -> Baseline:
    receipts = flows.deposit_lines + flows.sales_receipts
    disbursements = flows.purchases
    return Baseline(
        window_start=start,
        window_end=end,
        receipts_total_cents=receipts,
        disbursements_total_cents=disbursements,
        weekly_receipts_cents=div_round_half_away(receipts, GRID_WEEKS),
        weekly_disbursements_cents=div_round_half_away(disbursements, GRID_WEEKS),
    )


def _burn(flows: _BankFlows, weeks: int, start: dt.date, end: dt.date) -> Burn:
    outflows = flows.purchases + flows.bill_payments
    inflows = flows.deposit_lines + flows.deposit_lines_of_payments + flows.sales_receipts + flows.payments
    return Burn(
        weeks=weeks,
        window_start=start,
        window_end=end,
        outflows_cents=outflows,
        inflows_cents=inflows,
        gross_weekly_cents=div_round_half_away(outflows, weeks),
        net_weekly_cents=div_round_half_away(outflows - inflows, weeks),
    )


def _simulate(
    as_of: dt.date,
    horizon_end: dt.date,
    cash_now: int,
    events: Iterable[CashEvent],
    baseline: Baseline,
) -> tuple[DayBalance, ...]:
    receipts: dict[dt.date, int] = defaultdict(int)
    disbursements: dict[dt.date, int] = defaultdict(int)
    for event in events:
        if event.kind == "invoice":
            receipts[event.on] += event.amount_cents
        else:
            disbursements[event.on] += event.amount_cents
    balance = cash_now
    days: list[DayBalance] = []
    day = as_of
    while day <= horizon_end:
        base_in, base_out = baseline.on_day(day)
        balance += receipts[day] + base_in - disbursements[day] - base_out
        days.append(DayBalance(day, receipts[day], base_in, disbursements[day], base_out, balance))
        day += dt.timedelta(days=1)
    return tuple(days)


def _grid(
    monday: dt.date, as_of: dt.date, cash_now: int, days: tuple[DayBalance, ...], minimum_cash: int
) -> tuple[GridWeek, ...]:
    rows: list[GridWeek] = []
    opening = cash_now
    for week in range(1, GRID_WEEKS + 1):
        start = monday + dt.timedelta(days=7 * (week - 1))
        first = max((start - as_of).days, 0)
        last = (start - as_of).days + 6
        simulated = days[first : last + 1]
        rec_inv = sum(d.receipts_invoices_cents for d in simulated)
        rec_base = sum(d.receipts_baseline_cents for d in simulated)
        dis_bill = sum(d.disbursements_bills_cents for d in simulated)
        dis_base = sum(d.disbursements_baseline_cents for d in simulated)
        ending = days[last].balance_cents
        rows.append(
            GridWeek(
                week=week,
                start=start,
                opening_cents=opening,
                receipts_invoices_cents=rec_inv,
                receipts_baseline_cents=rec_base,
                disbursements_bills_cents=dis_bill,
                disbursements_baseline_cents=dis_base,
                net_change_cents=rec_inv + rec_base - dis_bill - dis_base,
                ending_cents=ending,
                minimum_cash_cents=minimum_cash,
                below_minimum=ending < minimum_cash,
            )
        )
        opening = ending
    return tuple(rows)


def _runway(as_of: dt.date, cash_now: int, days: tuple[DayBalance, ...], settings: RunwaySettings) -> Runway:
    for offset, day in enumerate(days):
        if day.balance_cents < 0:
            return Runway(
                days=offset,
                weeks=days_to_weeks(offset),
                cash_zero_date=day.day,
                status=settings.status_for(offset),
                not_burning=False,
                within_grid=True,
            )
    simulated = len(days)
    ending = days[-1].balance_cents
    drop = cash_now - ending
    if drop <= 0:
        return Runway(None, None, None, settings.status_for(None), not_burning=True, within_grid=False)
    # m = (ending - cash now) ÷ N < 0, so ⌊ending ÷ (-m)⌋ = ⌊ending x N ÷ drop⌋, exact in integers.
    runway_days = simulated + (ending * simulated) // drop
    # A burn of a few cents against a large balance reaches past the last date a calendar holds.
    beyond_calendar = runway_days > (dt.date.max - as_of).days
    return Runway(
        days=runway_days,
        weeks=days_to_weeks(runway_days),
        cash_zero_date=None if beyond_calendar else as_of + dt.timedelta(days=runway_days),
        status=settings.status_for(runway_days),
        not_burning=False,
        within_grid=False,
    )


# The steps `PreparedForecast` (impact_calculator) re-runs on a plan's moved events, under public names.
grid_of_days = _grid
runway_of_days = _runway
