"""Calculator: hygiene rules (PRODUCT §4), their issues, ordering and the cash-weighted hygiene score.

Each rule is one small pure function in a `RuleRegistry`. It receives a `RuleContext` (the snapshot,
``as_of``, the clock reading ``now`` for the sync rule, and lookups shared by all rules) and yields
`Finding` objects; the registry stamps each with the rule's id, severity and fix kind, producing a frozen
`HygieneIssue`. Amounts are integer cents of the home currency.

Adding a rule (a firm's own check) takes one function::

    from runway.services.calculators.data_quality_calculator import (
        DEFAULT_RULES, Finding, RuleContext, register_rule,
    )

    firm_rules = DEFAULT_RULES.copy()

    @register_rule("bill_over_limit", severity="low", attaches_to=("bill",), fix="open_in_qbo",
                   registry=firm_rules)
    def bill_over_limit(ctx: RuleContext) -> Iterable[Finding]:
        for bill in ctx.open_bills:
            if ctx.home_balance(bill) > 5_000_000:
                yield ctx.finding("bill", bill.qbo_id, ctx.home_balance(bill),
                                  f"{ctx.money(ctx.home_balance(bill))} bill is over the firm's limit",
                                  fingerprint_fields={"balance_cents": str(bill.balance_cents)})

    DataQualityCalculator(firm_rules).calculate(snapshot, as_of)

Omitting ``registry=`` adds the rule to `DEFAULT_RULES`, which every calculator built without an explicit
registry uses. A rule must yield at most one finding per entity; duplicates are merged (first wins) so the
"one issue per (rule, entity)" guarantee holds either way. Wording rule: findings describe what the data
does to the forecast; they never give advice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

from domains.core.money import Money, format_money
from runway.services.calculators.arithmetic import monday_of, qbo_id_key
from runway.services.calculators.runway_calculator import (
    GRID_WEEKS,
    DueDateBasis,
    effective_due_basis,
    typical_lateness_by_customer,
)
from runway.services.calculators.snapshots import (
    AccountSnap,
    BillSnap,
    BusinessSnapshot,
    InvoiceSnap,
    LineSnap,
    PurchaseSnap,
    SnapshotIndex,
)

Severity = Literal["high", "medium", "low"]
IssueEntity = Literal["bill", "invoice", "purchase", "vendor", "payment", "account", "business"]
SEVERITY_RANK: Mapping[str, int] = {"high": 0, "medium": 1, "low": 2}
SCORE_SEVERITIES = frozenset({"high", "medium"})

PURCHASE_LOOKBACK_DAYS = 365
DUPLICATE_WINDOW_DAYS = 5
STALE_INVOICE_DAYS = 90
STALE_BILL_DAYS = 60
UNDEPOSITED_DAYS = 7
SYNC_STALE_AFTER = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule function yields: one entity and what the problem does to the forecast.

    Attributes:
        entity_type: One of bill, invoice, purchase, vendor, payment, account, business.
        qbo_id: The entity's QBO Id (the realm Id for the business).
        amount_cents: Money affected, cents of the home currency (PRODUCT §4 says which amount).
        forecast_effect: One line, plain words, e.g. "$4,200.00 bill has no due date; assumed due 30
            days after its date, in W4".
        fix_params: Values the inline fix can prefill (e.g. a suggested due date), as strings.
        fingerprint_fields: The fields the detection read, as strings; a dismissed issue reopens only
            when one of them changes.
    """

    entity_type: IssueEntity
    qbo_id: str
    amount_cents: int
    forecast_effect: str
    fix_params: Mapping[str, str] = field(default_factory=dict, hash=False)
    fingerprint_fields: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class HygieneIssue:
    """One open data-quality issue on one entity.

    Attributes:
        rule: Rule id, e.g. ``bill_missing_due_date``.
        entity_type: One of bill, invoice, purchase, vendor, payment, account, business.
        qbo_id: The entity's QBO Id, a string.
        severity: ``high``, ``medium`` or ``low``.
        amount_cents: Money affected, cents of the home currency.
        forecast_effect: One line on what the problem does to the forecast.
        fix: The fix kind the tray offers (``set_due_date``, ``open_in_qbo``, ...).
        fix_params: Prefill values for the fix.
        fingerprint_fields: Fields relevant for the dismissal fingerprint.
    """

    rule: str
    entity_type: IssueEntity
    qbo_id: str
    severity: Severity
    amount_cents: int
    forecast_effect: str
    fix: str
    fix_params: Mapping[str, str] = field(default_factory=dict, hash=False)
    fingerprint_fields: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def fingerprint(self) -> str:
        """Stable hex digest of rule + entity + relevant fields, for remembering a dismissal."""
        parts = [self.rule, self.entity_type, self.qbo_id]
        parts += [f"{key}={self.fingerprint_fields[key]}" for key in sorted(self.fingerprint_fields)]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    def sort_key(self) -> tuple[int, int, tuple[int, int, str], str, str]:
        """Severity (high first), then amount (largest first), then Id (as an integer)."""
        return (
            SEVERITY_RANK[self.severity],
            -self.amount_cents,
            qbo_id_key(self.qbo_id),
            self.rule,
            self.entity_type,
        )

    def as_report(self) -> dict[str, str | int]:
        """The report's JSON object (PRODUCT §6 keys)."""
        return {
            "rule": self.rule,
            "entity_type": self.entity_type,
            "qbo_id": self.qbo_id,
            "severity": self.severity,
            "amount_cents": self.amount_cents,
        }


RuleFunction = Callable[["RuleContext"], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A registered rule: its id, severity, what it attaches to, its fix kind and its function."""

    rule_id: str
    severity: Severity
    attaches_to: tuple[IssueEntity, ...]
    fix: str
    function: RuleFunction


class RuleRegistry:
    """An ordered set of rules, by id."""

    def __init__(self, rules: Iterable[RuleSpec] = ()) -> None:
        """Create a registry, optionally seeded with rules."""
        self._rules: dict[str, RuleSpec] = {}
        for rule in rules:
            self.add(rule)

    def add(self, rule: RuleSpec) -> None:
        """Add a rule; an id may be registered once."""
        if rule.rule_id in self._rules:
            raise ValueError(f"hygiene rule {rule.rule_id!r} is already registered")
        if rule.severity not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {rule.severity!r}")
        self._rules[rule.rule_id] = rule

    def register(
        self, rule_id: str, *, severity: Severity, attaches_to: tuple[IssueEntity, ...], fix: str
    ) -> Callable[[RuleFunction], RuleFunction]:
        """Decorator registering a rule function under ``rule_id``."""

        def decorate(function: RuleFunction) -> RuleFunction:
            self.add(RuleSpec(rule_id, severity, attaches_to, fix, function))
            return function

        return decorate

    def copy(self) -> RuleRegistry:
        """A new registry with the same rules, to extend without touching this one."""
        return RuleRegistry(self._rules.values())

    def __iter__(self) -> Iterator[RuleSpec]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __getitem__(self, rule_id: str) -> RuleSpec:
        return self._rules[rule_id]


DEFAULT_RULES = RuleRegistry()


def register_rule(
    rule_id: str,
    *,
    severity: Severity,
    attaches_to: tuple[IssueEntity, ...],
    fix: str,
    registry: RuleRegistry | None = None,
) -> Callable[[RuleFunction], RuleFunction]:
    """Decorator adding a rule function to ``registry`` (`DEFAULT_RULES` when omitted)."""
    target = DEFAULT_RULES if registry is None else registry
    return target.register(rule_id, severity=severity, attaches_to=attaches_to, fix=fix)


class RuleContext:
    """What every rule may read: the snapshot, ``as_of``, ``now`` and lookups computed once.

    Attributes:
        snapshot: The business snapshot.
        as_of: Business-local date the rules are evaluated on.
        now: Clock reading (timezone-aware) used only by the sync rule.
        index: Lookups by Id.
    """

    def __init__(self, snapshot: BusinessSnapshot, as_of: dt.date, now: dt.datetime) -> None:
        """Build a context (lookups are computed lazily, once)."""
        self.snapshot = snapshot
        self.as_of = as_of
        self.now = now
        self.index = SnapshotIndex.of(snapshot)

    @property
    def home(self) -> str:
        """The home currency code."""
        return self.snapshot.home_currency

    @cached_property
    def open_bills(self) -> tuple[BillSnap, ...]:
        """Open bills (``Balance`` > 0), by Id."""
        return tuple(
            sorted(
                (b for b in self.snapshot.bills if b.balance_cents > 0), key=lambda b: qbo_id_key(b.qbo_id)
            )
        )

    @cached_property
    def open_invoices(self) -> tuple[InvoiceSnap, ...]:
        """Open invoices (``Balance`` > 0), by Id."""
        return tuple(
            sorted(
                (i for i in self.snapshot.invoices if i.balance_cents > 0), key=lambda i: qbo_id_key(i.qbo_id)
            )
        )

    @cached_property
    def recent_purchases(self) -> tuple[PurchaseSnap, ...]:
        """Purchases dated at most 365 days before ``as_of`` (later-dated ones included), by Id."""
        oldest = self.as_of - dt.timedelta(days=PURCHASE_LOOKBACK_DAYS)
        return tuple(
            sorted(
                (p for p in self.snapshot.purchases if p.txn_date >= oldest),
                key=lambda p: qbo_id_key(p.qbo_id),
            )
        )

    @cached_property
    def lateness(self) -> Mapping[str, int]:
        """Typical lateness by customer (PRODUCT §3)."""
        return typical_lateness_by_customer(self.snapshot, self.as_of, index=self.index)

    def home_balance(self, item: BillSnap | InvoiceSnap) -> int:
        """Open balance in cents of the home currency."""
        return item.home_balance(self.home)

    def due_basis(self, item: BillSnap | InvoiceSnap) -> DueDateBasis:
        """Effective due date and its basis."""
        return effective_due_basis(item, self.index)

    def forecast_day(self, item: BillSnap | InvoiceSnap) -> dt.date:
        """The day the forecast moves the item's cash, without any decision applied."""
        due = self.due_basis(item).on
        if isinstance(item, InvoiceSnap):
            due += dt.timedelta(days=self.lateness.get(item.customer_qbo_id, 0))
        return max(due, self.as_of)

    def week_label(self, day: dt.date) -> str:
        """``W1``…``W13`` for a day of the grid (days before ``as_of`` are W1), else ``after W13``."""
        week = max((day - monday_of(self.as_of)).days // 7 + 1, 1)
        return f"W{week}" if week <= GRID_WEEKS else "after W13"

    def in_week(self, day: dt.date) -> str:
        """``in W4`` or ``after W13``, for sentences."""
        label = self.week_label(day)
        return label if label.startswith("after") else f"in {label}"

    def money(self, cents: int) -> str:
        """Amount for a sentence, e.g. ``$4,200.00``."""
        return format_money(Money(cents, self.home))

    def finding(
        self,
        entity_type: IssueEntity,
        qbo_id: str,
        amount_cents: int,
        forecast_effect: str,
        *,
        fix_params: Mapping[str, str] | None = None,
        fingerprint_fields: Mapping[str, str] | None = None,
    ) -> Finding:
        """Build a finding (a shorthand for rule functions)."""
        return Finding(
            entity_type,
            qbo_id,
            amount_cents,
            forecast_effect,
            dict(fix_params or {}),
            dict(fingerprint_fields or {}),
        )


@dataclass(frozen=True, slots=True)
class HygieneResult:
    """Issues in tray order and the hygiene score.

    Attributes:
        issues: Every issue, high severity first, then larger amount, then Id.
        score: floor(100 x clean / total) over open bill + invoice balances; 100 when nothing is open.
        open_cents: Total open balance of bills and invoices (home cents).
        clean_cents: The part of it without a high or medium issue on the item itself.
    """

    issues: tuple[HygieneIssue, ...]
    score: int
    open_cents: int
    clean_cents: int

    def count(self, severity: Severity) -> int:
        """Number of issues of one severity."""
        return sum(1 for issue in self.issues if issue.severity == severity)


class DataQualityCalculator:
    """Runs a rule registry over a snapshot and scores the result (PRODUCT §4)."""

    def __init__(self, registry: RuleRegistry | None = None) -> None:
        """Create a calculator.

        Args:
            registry: Rules to run; `DEFAULT_RULES` (the PRODUCT §4 catalogue) when omitted.
        """
        self.registry = DEFAULT_RULES if registry is None else registry

    def issues(
        self, snapshot: BusinessSnapshot, as_of: dt.date, *, now: dt.datetime | None = None
    ) -> tuple[HygieneIssue, ...]:
        """Every issue on ``as_of``, in tray order.

        Args:
            snapshot: The business snapshot.
            as_of: Business-local date the rules are evaluated on.
            now: Timezone-aware clock reading for ``sync_stale``; ``snapshot.snapshot_at`` when omitted.

        Returns:
            One issue per (rule, entity), sorted high severity first, then amount, then Id.
        """
        context = RuleContext(snapshot, as_of, now if now is not None else snapshot.snapshot_at)
        found: dict[tuple[str, str, str], HygieneIssue] = {}
        for spec in self.registry:
            for item in spec.function(context):
                if item.entity_type not in spec.attaches_to:
                    raise ValueError(
                        f"rule {spec.rule_id} attaches to {spec.attaches_to}, not to {item.entity_type}"
                    )
                key = (spec.rule_id, item.entity_type, item.qbo_id)
                if key in found:
                    continue
                found[key] = HygieneIssue(
                    rule=spec.rule_id,
                    entity_type=item.entity_type,
                    qbo_id=item.qbo_id,
                    severity=spec.severity,
                    amount_cents=item.amount_cents,
                    forecast_effect=item.forecast_effect,
                    fix=spec.fix,
                    fix_params=dict(item.fix_params),
                    fingerprint_fields=dict(item.fingerprint_fields),
                )
        return tuple(sorted(found.values(), key=HygieneIssue.sort_key))

    def score(self, snapshot: BusinessSnapshot, issues: Iterable[HygieneIssue]) -> HygieneResult:
        """Hygiene score over the given open issues (after the caller drops dismissed/snoozed ones).

        An open bill or invoice is clean unless an issue of high or medium severity is attached to that
        bill or invoice itself; issues on vendors, purchases, payments or accounts do not count.

        Args:
            snapshot: The business snapshot.
            issues: The issues still open.

        Returns:
            The issues in tray order with the score.
        """
        ordered = tuple(sorted(issues, key=HygieneIssue.sort_key))
        flagged: dict[str, set[str]] = {"bill": set(), "invoice": set()}
        for issue in ordered:
            if issue.severity in SCORE_SEVERITIES and issue.entity_type in flagged:
                flagged[issue.entity_type].add(issue.qbo_id)
        home = snapshot.home_currency
        total = clean = 0
        items: tuple[tuple[tuple[BillSnap | InvoiceSnap, ...], set[str]], ...] = (
            (snapshot.bills, flagged["bill"]),
            (snapshot.invoices, flagged["invoice"]),
        )
        for rows, flagged_ids in items:
            # Every bill and invoice ever synced passes here; only the open ones are converted.
            for item in rows:
                if item.balance_cents <= 0:
                    continue
                currency = item.currency
                amount = (
                    item.balance_cents if currency is None or currency == home else item.home_balance(home)
                )
                total += amount
                if item.qbo_id not in flagged_ids:
                    clean += amount
        score = 100 if total <= 0 else (100 * clean) // total
        return HygieneResult(issues=ordered, score=score, open_cents=total, clean_cents=clean)

    def calculate(
        self, snapshot: BusinessSnapshot, as_of: dt.date, *, now: dt.datetime | None = None
    ) -> HygieneResult:
        """Issues and score in one call (every issue counted as open)."""
        return self.score(snapshot, self.issues(snapshot, as_of, now=now))


# ---------------------------------------------------------------------------------------------------
# The PRODUCT §4 catalogue. Registration order is the catalogue's order.
# ---------------------------------------------------------------------------------------------------


def _iso(day: dt.date | None) -> str:
    return "" if day is None else day.isoformat()


def _assumption(basis: DueDateBasis) -> str:
    if basis.source == "default":
        return f"assumed due {basis.days_after_txn} days after its date"
    return f"assumed due {basis.days_after_txn} days after its date ({basis.term_name} terms)"


@register_rule("bill_missing_due_date", severity="high", attaches_to=("bill",), fix="set_due_date")
def bill_missing_due_date(ctx: RuleContext) -> Iterator[Finding]:
    """Open bill without ``DueDate``."""
    for bill in ctx.open_bills:
        if bill.due_date is not None:
            continue
        basis = ctx.due_basis(bill)
        amount = ctx.home_balance(bill)
        yield ctx.finding(
            "bill",
            bill.qbo_id,
            amount,
            f"{ctx.money(amount)} bill has no due date; {_assumption(basis)}, "
            f"{ctx.in_week(ctx.forecast_day(bill))}",
            fix_params={"suggested_due_date": basis.on.isoformat()},
            fingerprint_fields={"due_date": "", "txn_date": _iso(bill.txn_date)},
        )


@register_rule("bill_due_before_txn", severity="medium", attaches_to=("bill",), fix="set_due_date")
def bill_due_before_txn(ctx: RuleContext) -> Iterator[Finding]:
    """Open bill whose ``DueDate`` is before its ``TxnDate``."""
    for bill in ctx.open_bills:
        if bill.due_date is None or bill.due_date >= bill.txn_date:
            continue
        amount = ctx.home_balance(bill)
        suggested = ctx.due_basis(replace(bill, due_date=None)).on
        yield ctx.finding(
            "bill",
            bill.qbo_id,
            amount,
            f"{ctx.money(amount)} bill is due {bill.due_date.isoformat()}, before its date "
            f"{bill.txn_date.isoformat()}; the forecast pays it {ctx.in_week(ctx.forecast_day(bill))}",
            fix_params={"suggested_due_date": suggested.isoformat()},
            fingerprint_fields={"due_date": _iso(bill.due_date), "txn_date": _iso(bill.txn_date)},
        )


def _same_total(a: BillSnap, b: BillSnap, home: str) -> bool:
    return (a.currency or home) == (b.currency or home) and a.total_cents == b.total_cents


def _doc(bill: BillSnap) -> str:
    return (bill.doc_number or "").strip()


def _newer_first(bill: BillSnap) -> tuple[dt.date, tuple[int, int, str]]:
    return (bill.txn_date, qbo_id_key(bill.qbo_id))


def _bills_of_vendors_with_repeats(bills: Iterable[BillSnap]) -> list[BillSnap]:
    """Every bill of the vendors where two bills share a non-empty DocNumber or a TotalAmt.

    Bills of any other vendor cannot pair, so the duplicate rule builds its tuple-keyed groups for these
    only: in a 50k-entity business most vendors repeat neither, and grouping by the vendor Id alone is
    far cheaper than keying every bill by (vendor, number) and (vendor, currency, total). The total is
    compared without its currency here, which can only let more vendors through.
    """
    by_vendor: dict[str, list[BillSnap]] = defaultdict(list)
    for bill in bills:
        by_vendor[bill.vendor_qbo_id].append(bill)
    repeats: list[BillSnap] = []
    for vendor_bills in by_vendor.values():
        count = len(vendor_bills)
        if count < 2:
            continue
        numbers = [number for bill in vendor_bills if (number := (bill.doc_number or "").strip())]
        if len({bill.total_cents for bill in vendor_bills}) < count or len(set(numbers)) < len(numbers):
            repeats += vendor_bills
    return repeats


@register_rule("possible_duplicate_bill", severity="high", attaches_to=("bill",), fix="resolve_duplicate")
def possible_duplicate_bill(ctx: RuleContext) -> Iterator[Finding]:
    """Two bills of one vendor with equal totals within 5 days, or the same non-empty DocNumber.

    The issue attaches to the newer bill of each pair (later ``TxnDate``, then larger Id); a pair needs
    at least one open bill.
    """
    by_doc: dict[tuple[str, str], list[BillSnap]] = defaultdict(list)
    by_total: dict[tuple[str, str, int], list[BillSnap]] = defaultdict(list)
    for bill in _bills_of_vendors_with_repeats(ctx.snapshot.bills):
        if _doc(bill):
            by_doc[(bill.vendor_qbo_id, _doc(bill))].append(bill)
        by_total[(bill.vendor_qbo_id, bill.currency or ctx.home, bill.total_cents)].append(bill)
    # Only bills sharing a vendor's number or total can pair; sorting just those keeps a 50k-entity
    # business from sorting every bill it ever had.
    groups = (*by_doc.values(), *by_total.values())
    candidates = {id(b): b for group in groups if len(group) > 1 for b in group}
    for newer in sorted(candidates.values(), key=lambda b: (qbo_id_key(b.vendor_qbo_id), _newer_first(b))):
        matches: list[tuple[BillSnap, str]] = []
        same_doc = by_doc.get((newer.vendor_qbo_id, _doc(newer)), []) if _doc(newer) else []
        same_total = by_total[(newer.vendor_qbo_id, newer.currency or ctx.home, newer.total_cents)]
        for older in same_doc:
            if _newer_first(older) < _newer_first(newer) and (newer.is_open or older.is_open):
                matches.append((older, f"same number {_doc(newer)}"))
        for older in same_total:
            if (
                _newer_first(older) < _newer_first(newer)
                and (newer.is_open or older.is_open)
                and (newer.txn_date - older.txn_date).days <= DUPLICATE_WINDOW_DAYS
                and all(older is not m[0] for m in matches)
            ):
                matches.append((older, "same amount within 5 days"))
        if not matches:
            continue
        matches.sort(key=lambda m: qbo_id_key(m[0].qbo_id))
        older, reason = matches[0]
        amount = ctx.home_balance(newer)
        if newer.is_open:
            effect = (
                f"{ctx.money(amount)} bill may duplicate bill {older.qbo_id} ({reason}); if it does, "
                f"outflows {ctx.in_week(ctx.forecast_day(newer))} are overstated by {ctx.money(amount)}"
            )
        else:
            effect = (
                f"paid bill may duplicate open bill {older.qbo_id} ({reason}); if it does, the "
                f"{ctx.money(ctx.home_balance(older))} still forecast "
                f"{ctx.in_week(ctx.forecast_day(older))} was already paid"
            )
        yield ctx.finding(
            "bill",
            newer.qbo_id,
            amount,
            effect,
            fix_params={"other_bill_ids": ",".join(m[0].qbo_id for m in matches)},
            fingerprint_fields={
                "matches": ",".join(m[0].qbo_id for m in matches),
                "vendor": newer.vendor_qbo_id,
                "total_cents": str(newer.total_cents),
                "txn_date": _iso(newer.txn_date),
                "doc_number": _doc(newer),
            },
        )


@register_rule("invoice_missing_due_date", severity="medium", attaches_to=("invoice",), fix="set_due_date")
def invoice_missing_due_date(ctx: RuleContext) -> Iterator[Finding]:
    """Open invoice without ``DueDate``."""
    for invoice in ctx.open_invoices:
        if invoice.due_date is not None:
            continue
        basis = ctx.due_basis(invoice)
        amount = ctx.home_balance(invoice)
        late = ctx.lateness.get(invoice.customer_qbo_id, 0)
        lateness = f"; with {late} days typical lateness" if late else ","
        yield ctx.finding(
            "invoice",
            invoice.qbo_id,
            amount,
            f"{ctx.money(amount)} invoice has no due date; {_assumption(basis)}{lateness} expected "
            f"{ctx.in_week(ctx.forecast_day(invoice))}",
            fix_params={"suggested_due_date": basis.on.isoformat()},
            fingerprint_fields={"due_date": "", "txn_date": _iso(invoice.txn_date)},
        )


@register_rule("stale_overdue_invoice", severity="medium", attaches_to=("invoice",), fix="chase")
def stale_overdue_invoice(ctx: RuleContext) -> Iterator[Finding]:
    """Open invoice with a ``DueDate`` more than 90 days before ``as_of``."""
    for invoice in ctx.open_invoices:
        if invoice.due_date is None:
            continue
        overdue = (ctx.as_of - invoice.due_date).days
        if overdue <= STALE_INVOICE_DAYS:
            continue
        amount = ctx.home_balance(invoice)
        # The doubtful test uses the effective due date, which is this DueDate; both thresholds are 90.
        yield ctx.finding(
            "invoice",
            invoice.qbo_id,
            amount,
            f"{ctx.money(amount)} invoice is {overdue} days past due; counted as doubtful and left out of "
            f"the forecast",
            fingerprint_fields={"due_date": _iso(invoice.due_date)},
        )


@register_rule("stale_open_bill", severity="medium", attaches_to=("bill",), fix="record_payment")
def stale_open_bill(ctx: RuleContext) -> Iterator[Finding]:
    """Open bill with a ``DueDate`` more than 60 days before ``as_of`` (paid outside QBO?)."""
    for bill in ctx.open_bills:
        if bill.due_date is None:
            continue
        overdue = (ctx.as_of - bill.due_date).days
        if overdue <= STALE_BILL_DAYS:
            continue
        amount = ctx.home_balance(bill)
        yield ctx.finding(
            "bill",
            bill.qbo_id,
            amount,
            f"{ctx.money(amount)} bill is {overdue} days past due and forecast as paid today (W1); if it "
            f"was paid outside QBO, that outflow is counted twice",
            fingerprint_fields={"due_date": _iso(bill.due_date)},
        )


def _uncategorized(ctx: RuleContext, lines: Iterable[LineSnap]) -> list[tuple[str, str]]:
    """(account id, account name) of the account-based lines coded to a catch-all account."""
    hits: list[tuple[str, str]] = []
    for line in lines:
        if line.detail_type != "AccountBasedExpenseLineDetail":
            continue
        synced = ctx.index.accounts.get(line.account_qbo_id) if line.account_qbo_id else None
        # The synced Account's Name wins over the ref's name, which QBO does not refresh on rename.
        name = synced.name if synced is not None else line.account_name
        if name is None:
            continue
        lowered = name.lower()
        if lowered.startswith("uncategori") or lowered == "ask my accountant":
            hits.append((line.account_qbo_id or "", name))
    return hits


@register_rule(
    "uncategorized_line", severity="medium", attaches_to=("bill", "purchase"), fix="pick_expense_account"
)
def uncategorized_line(ctx: RuleContext) -> Iterator[Finding]:
    """Open bill or recent purchase with an account-based line on an uncategorized / AMA account."""
    for bill in ctx.open_bills:
        hits = _uncategorized(ctx, bill.lines)
        if hits:
            amount = ctx.home_balance(bill)
            yield ctx.finding(
                "bill",
                bill.qbo_id,
                amount,
                f"{ctx.money(amount)} bill is coded to {hits[0][1]}; spending by category is wrong, its "
                f"timing is not ({ctx.week_label(ctx.forecast_day(bill))})",
                fingerprint_fields={"accounts": ",".join(sorted({h[0] or h[1] for h in hits}))},
            )
    for purchase in ctx.recent_purchases:
        hits = _uncategorized(ctx, purchase.lines)
        if hits:
            amount = purchase.home_total(ctx.home)
            yield ctx.finding(
                "purchase",
                purchase.qbo_id,
                amount,
                f"{ctx.money(amount)} purchase is coded to {hits[0][1]}; spending by category is wrong, "
                f"the baseline total is not",
                fingerprint_fields={"accounts": ",".join(sorted({h[0] or h[1] for h in hits}))},
            )


@register_rule("vendor_missing_terms", severity="low", attaches_to=("vendor",), fix="set_vendor_terms")
def vendor_missing_terms(ctx: RuleContext) -> Iterator[Finding]:
    """Vendor without ``TermRef`` that has at least one open bill without ``DueDate``."""
    undated: dict[str, list[BillSnap]] = defaultdict(list)
    for bill in ctx.open_bills:
        if bill.due_date is None:
            undated[bill.vendor_qbo_id].append(bill)
    for vendor_id in sorted(undated, key=qbo_id_key):
        vendor = ctx.index.vendors.get(vendor_id)
        if vendor is None or vendor.term_qbo_id is not None:
            continue
        bills = undated[vendor_id]
        amount = sum(ctx.home_balance(b) for b in bills)
        yield ctx.finding(
            "vendor",
            vendor_id,
            amount,
            f"{len(bills)} open bill(s) of {vendor.display_name} ({ctx.money(amount)}) have no due date "
            f"and the vendor has no terms; each is assumed due 30 days after its date",
            fingerprint_fields={"term": "", "bills": ",".join(b.qbo_id for b in bills)},
        )


@register_rule("unapplied_customer_payment", severity="medium", attaches_to=("payment",), fix="apply_payment")
def unapplied_customer_payment(ctx: RuleContext) -> Iterator[Finding]:
    """Customer payment (any date) with ``UnappliedAmt`` > 0."""
    unapplied = [p for p in ctx.snapshot.payments if p.unapplied_cents > 0]
    open_by_customer: dict[str, int] = defaultdict(int)
    if unapplied:
        for invoice in ctx.open_invoices:
            open_by_customer[invoice.customer_qbo_id] += ctx.home_balance(invoice)
    for payment in sorted(unapplied, key=lambda p: qbo_id_key(p.qbo_id)):
        amount = payment.home(payment.unapplied_cents, ctx.home)
        open_for_customer = open_by_customer.get(payment.customer_qbo_id, 0)
        tail = (
            f"the customer's open invoices ({ctx.money(open_for_customer)}) may be forecast as receipts again"
            if open_for_customer
            else "the customer has no open invoice to apply it to"
        )
        yield ctx.finding(
            "payment",
            payment.qbo_id,
            amount,
            f"{ctx.money(amount)} received on {payment.txn_date.isoformat()} is not applied; {tail}",
            fingerprint_fields={"unapplied_cents": str(payment.unapplied_cents)},
        )


@register_rule(
    "expense_to_vendor_with_open_bill", severity="medium", attaches_to=("purchase",), fix="open_in_qbo"
)
def expense_to_vendor_with_open_bill(ctx: RuleContext) -> Iterator[Finding]:
    """Purchase to a vendor that has an open bill whose ``Balance`` equals the purchase's ``TotalAmt``."""
    open_by_vendor: dict[str, list[BillSnap]] = defaultdict(list)
    for bill in ctx.open_bills:
        open_by_vendor[bill.vendor_qbo_id].append(bill)
    for purchase in ctx.recent_purchases:
        if purchase.entity_type != "Vendor" or purchase.entity_qbo_id is None:
            continue
        currency = purchase.currency or ctx.home
        matches = [
            bill
            for bill in open_by_vendor.get(purchase.entity_qbo_id, ())
            if (bill.currency or ctx.home) == currency
            and bill.balance_cents == purchase.total_cents
            and bill.txn_date <= purchase.txn_date
        ]
        if not matches:
            continue
        amount = purchase.home_total(ctx.home)
        first = matches[0]
        yield ctx.finding(
            "purchase",
            purchase.qbo_id,
            amount,
            f"{ctx.money(amount)} expense to this vendor equals open bill {first.qbo_id}; if it paid that "
            f"bill, the forecast pays it again {ctx.in_week(ctx.forecast_day(first))}",
            fix_params={"bill_ids": ",".join(b.qbo_id for b in matches)},
            fingerprint_fields={
                "bills": ",".join(b.qbo_id for b in matches),
                "total_cents": str(purchase.total_cents),
            },
        )


def _undeposited_accounts(ctx: RuleContext) -> list[AccountSnap]:
    by_sub_type = [a for a in ctx.snapshot.accounts if a.account_sub_type == "UndepositedFunds"]
    if by_sub_type:
        return by_sub_type
    return [a for a in ctx.snapshot.accounts if a.name.strip().lower() == "undeposited funds"]


@register_rule("undeposited_funds_lingering", severity="medium", attaches_to=("account",), fix="open_in_qbo")
def undeposited_funds_lingering(ctx: RuleContext) -> Iterator[Finding]:
    """Undeposited Funds with a positive balance holding a receipt older than 7 days not yet deposited."""
    deposited = {
        (line.linked_txn_type, line.linked_txn_id)
        for deposit in ctx.snapshot.deposits
        for line in deposit.lines
        if line.linked_txn_id is not None
    }
    for account in sorted(_undeposited_accounts(ctx), key=lambda a: qbo_id_key(a.qbo_id)):
        balance = account.home_balance(ctx.home)
        if balance <= 0:
            continue
        waiting = [
            f"Payment:{p.qbo_id}"
            for p in ctx.snapshot.payments
            if p.deposit_to_account_qbo_id == account.qbo_id
            and ("Payment", p.qbo_id) not in deposited
            and (ctx.as_of - p.txn_date).days > UNDEPOSITED_DAYS
        ]
        waiting += [
            f"SalesReceipt:{r.qbo_id}"
            for r in ctx.snapshot.sales_receipts
            if r.deposit_to_account_qbo_id == account.qbo_id
            and ("SalesReceipt", r.qbo_id) not in deposited
            and (ctx.as_of - r.txn_date).days > UNDEPOSITED_DAYS
        ]
        if not waiting:
            continue
        waiting.sort()
        yield ctx.finding(
            "account",
            account.qbo_id,
            balance,
            f"{ctx.money(balance)} sits in Undeposited Funds, outside cash now; {len(waiting)} receipt(s) "
            f"older than 7 days are not deposited",
            fingerprint_fields={"waiting": ",".join(waiting)},
        )


@register_rule("totals_mismatch", severity="high", attaches_to=("bill", "invoice"), fix="open_in_qbo")
def totals_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    """``Balance`` > ``TotalAmt``; or, for an untaxed bill, lines that do not add up to ``TotalAmt``.

    A bill with no lines at all is treated as "lines not loaded" rather than a mismatch: QBO never
    returns a bill without a line.
    """
    items: list[BillSnap | InvoiceSnap] = [*ctx.open_bills, *ctx.open_invoices]
    for item in items:
        kind: IssueEntity = "bill" if isinstance(item, BillSnap) else "invoice"
        amount = ctx.home_balance(item)
        effect = ""
        lines_total = sum(line.amount_cents for line in item.lines)
        if item.balance_cents > item.total_cents:
            effect = (
                f"{ctx.money(amount)} {kind} balance is more than its total; the forecast uses the balance"
            )
        elif (
            isinstance(item, BillSnap)
            and not item.total_tax_cents
            and item.lines
            and lines_total != item.total_cents
        ):
            currency = item.currency or ctx.home
            effect = (
                f"{ctx.money(amount)} bill's lines add up to {format_money(Money(lines_total, currency))} "
                f"but its total is {format_money(Money(item.total_cents, currency))}; the forecast uses "
                f"the balance"
            )
        if effect:
            yield ctx.finding(
                kind,
                item.qbo_id,
                amount,
                effect,
                fingerprint_fields={
                    "total_cents": str(item.total_cents),
                    "balance_cents": str(item.balance_cents),
                    "lines_cents": str(lines_total),
                },
            )


@register_rule("orphan_reference", severity="high", attaches_to=("bill", "invoice"), fix="resync")
def orphan_reference(ctx: RuleContext) -> Iterator[Finding]:
    """Open bill/invoice whose vendor/customer Id is not among the synced (active or inactive) ones."""
    for bill in ctx.open_bills:
        if bill.vendor_qbo_id not in ctx.index.vendors:
            amount = ctx.home_balance(bill)
            yield ctx.finding(
                "bill",
                bill.qbo_id,
                amount,
                f"{ctx.money(amount)} bill refers to vendor {bill.vendor_qbo_id}, which is not synced; "
                f"vendor terms cannot be applied to it",
                fingerprint_fields={"vendor": bill.vendor_qbo_id},
            )
    for invoice in ctx.open_invoices:
        if invoice.customer_qbo_id not in ctx.index.customers:
            amount = ctx.home_balance(invoice)
            yield ctx.finding(
                "invoice",
                invoice.qbo_id,
                amount,
                f"{ctx.money(amount)} invoice refers to customer {invoice.customer_qbo_id}, which is not "
                f"synced; customer terms cannot be applied to it",
                fingerprint_fields={"customer": invoice.customer_qbo_id},
            )


@register_rule("sync_stale", severity="high", attaches_to=("business",), fix="sync_now")
def sync_stale(ctx: RuleContext) -> Iterator[Finding]:
    """No successful sync in the last 24 hours, or the last sync failed."""
    last = ctx.snapshot.last_successful_sync_at
    if ctx.snapshot.last_sync_failed:
        since = f" (last success {last.isoformat()})" if last is not None else ""
        effect = f"the last sync failed{since}; cash now and open items may be out of date"
    elif last is None:
        effect = "no successful sync yet; the forecast has no synced data to go on"
    elif ctx.now - last > SYNC_STALE_AFTER:
        hours = int((ctx.now - last) // dt.timedelta(hours=1))
        effect = f"last successful sync was {hours} hours ago; cash now and open items may be out of date"
    else:
        return
    yield ctx.finding(
        "business",
        ctx.snapshot.realm_id,
        0,
        effect,
        fingerprint_fields={
            "last_successful_sync_at": last.isoformat() if last is not None else "",
            "last_sync_failed": str(ctx.snapshot.last_sync_failed),
        },
    )
