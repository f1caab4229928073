"""Experience: the Hygiene Tray — triage data-quality issues per business and across a firm's clients.

Reads come from `HygieneTrayDataOrchestrator` (issues minus what people triaged), each row carries what
fixing it does to the runway (`ImpactCalculator`), and every action returns the changed row and the
header counters so the screen swaps only those. The business tray works from the books; the firm tray
and triage actions read the orchestrator's register, where what a row shows is kept once worked out.
Views are frozen dataclasses; nothing here talks to QBO.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlencode

from domains.core.money import Money, format_money
from domains.core.permissions import Capability, capabilities
from runway.services.calculators.data_quality_calculator import HygieneIssue
from runway.services.calculators.impact_calculator import (
    ApplyPayment,
    Change,
    Chase,
    DeleteBill,
    ImpactCalculator,
    RecordBillPaid,
    SetDueDate,
    SetVendorTerms,
)
from runway.services.calculators.runway_calculator import effective_due_date
from runway.services.calculators.snapshots import (
    BillSnap,
    BusinessSnapshot,
    InvoiceSnap,
    PaymentSnap,
    PurchaseSnap,
    SnapshotIndex,
)
from runway.services.data_orchestrators.hygiene_tray_data_orchestrator import (
    CHASE_SNOOZE_DAYS,
    BusinessFacts,
    FirmClientState,
    FixNotRevertibleError,
    FixOutcome,
    HygieneConflictError,
    HygieneIssueNotFoundError,
    HygieneTrayDataOrchestrator,
    HygieneWriteError,
    RegisterDetail,
    RegisterEntry,
    RegisterIssue,
    RegisterSummary,
    RegisterView,
    TrayData,
    issue_key,
)
from runway.services.experiences.business_list import BusinessContext
from runway.services.experiences.sign_in import CurrentUser

__all__ = [
    "NO_ID",
    "ActionResult",
    "FixConflictError",
    "FixFailedError",
    "FixInputError",
    "HygieneTrayService",
    "IssueNotFoundError",
    "QboLinkStyle",
    "TrayFilters",
    "TrayView",
    "TriageNotAllowedError",
]

Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")
SEVERITY_LABELS = {"high": "High", "medium": "Medium", "low": "Low"}
PAGE_SIZE = 100
SNOOZE_PRESETS: tuple[tuple[str, int, str], ...] = (
    ("1", 7, "1 week"),
    ("2", 14, "2 weeks"),
    ("3", 30, "30 days"),
)
EXPENSE_ACCOUNT_TYPES = frozenset({"Expense", "Cost of Goods Sold", "Other Expense"})
QboLinkStyle = Literal["intuit", "intuit_sandbox", "local_sandbox"]

RULE_LABELS: Mapping[str, str] = {
    "bill_missing_due_date": "Bill without a due date",
    "bill_due_before_txn": "Bill due before its date",
    "possible_duplicate_bill": "Possible duplicate bill",
    "invoice_missing_due_date": "Invoice without a due date",
    "stale_overdue_invoice": "Invoice over 90 days past due",
    "stale_open_bill": "Bill over 60 days past due",
    "uncategorized_line": "Uncategorized expense",
    "vendor_missing_terms": "Vendor without terms",
    "unapplied_customer_payment": "Unapplied customer payment",
    "expense_to_vendor_with_open_bill": "Expense matching an open bill",
    "undeposited_funds_lingering": "Undeposited funds waiting",
    "totals_mismatch": "Totals do not add up",
    "orphan_reference": "Vendor or customer missing",
    "sync_stale": "Sync out of date",
}
FIX_LABELS: Mapping[str, str] = {
    "set_due_date": "Set due date",
    "set_vendor_terms": "Set vendor terms",
    "pick_expense_account": "Pick expense account",
    "apply_payment": "Apply to an invoice",
    "record_payment": "Record the payment",
    "resolve_duplicate": "Resolve duplicate",
    "chase": "Chase (email invoice)",
    "open_in_qbo": "Open in QuickBooks",
    "resync": "Sync again",
    "sync_now": "Sync now",
}
# Fixes that write to QuickBooks (the button says so, PRODUCT §8).
QBO_WRITES = frozenset(
    {
        "set_due_date",
        "set_vendor_terms",
        "pick_expense_account",
        "apply_payment",
        "record_payment",
        "resolve_duplicate",
        "chase",
    }
)
_QBO_PATHS = {
    "bill": "bill?txnId=",
    "invoice": "invoice?txnId=",
    "purchase": "expense?txnId=",
    "payment": "recvpayment?txnId=",
    "vendor": "vendordetail?nameId=",
    "account": "register?accountId=",
}
_QBO_HOSTS = {
    "intuit": "https://app.qbo.intuit.com/app/",
    "intuit_sandbox": "https://app.sandbox.qbo.intuit.com/app/",
}
LOCAL_SANDBOX_NOTE = (
    "This company lives in Runway's built-in QuickBooks sandbox, which has no QuickBooks screens to open; "
    "connect a real QuickBooks company to get links."
)
# A URL segment cannot be empty: an issue about a business whose QBO company id is not known yet uses this.
NO_ID = "-"
_DOM_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_EMAIL = re.compile(r"^[^@\s]{1,100}@[^@\s]{1,100}\.[^@\s]{1,50}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,50}$")


# --- errors the web layer turns into responses ------------------------------------------------------


class IssueNotFoundError(LookupError):
    """No such open issue (or fix) for this business: answered 404."""


class TriageNotAllowedError(PermissionError):
    """The person may read the tray but not change it: answered 403 with this message."""


class FixInputError(ValueError):
    """The submitted fix is incomplete or invalid; `row` shows the form again with the message."""

    def __init__(self, message: str, row: IssueRow, counters: CountersView) -> None:
        super().__init__(message)
        self.row = row
        self.counters = counters


class FixFailedError(Exception):
    """QuickBooks refused or could not be reached; `row` explains it and nothing changed."""

    def __init__(self, message: str, row: IssueRow, counters: CountersView) -> None:
        super().__init__(message)
        self.row = row
        self.counters = counters


class FixConflictError(Exception):
    """The object changed in QuickBooks since it was shown: `row` shows QBO's values and a retry."""

    def __init__(self, row: IssueRow, counters: CountersView) -> None:
        super().__init__("changed in QuickBooks")
        self.row = row
        self.counters = counters


# --- views ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImpactView:
    """What a fix does to the runway, before it is taken (PRODUCT §3 decision deltas)."""

    change_label: str
    delta_days: int | None
    direction: str
    new_cash_zero_date: dt.date | None
    new_lowest_cash_cents: int
    delta_lowest_cash_cents: int
    words: str
    currency: str

    @property
    def delta_label(self) -> str:
        if self.delta_days is None:
            return "stops the burn" if self.direction == "longer" else "starts a burn"
        if self.delta_days == 0:
            return "±0 days"
        return f"{self.delta_days:+d} days"


@dataclass(frozen=True, slots=True)
class QboLink:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    selected: bool = False


@dataclass(frozen=True, slots=True)
class FixPanel:
    """The inline fix form of one issue, prefilled."""

    kind: str
    title: str
    sync_token: str
    request_id: str
    date_value: dt.date | None = None
    date_label: str = ""
    date_name: str = ""
    date_min: dt.date | None = None
    options: tuple[Option, ...] = ()
    options_label: str = ""
    options_name: str = ""
    email_value: str = ""
    note: str = ""
    submit_label: str = ""
    writes_qbo: bool = True
    impact: ImpactView | None = None
    no_impact_note: str = ""


@dataclass(frozen=True, slots=True)
class ConflictView:
    """QuickBooks' current values of an object that changed since it was shown."""

    entity: str
    qbo_id: str
    fields: tuple[tuple[str, str], ...]
    sync_token: str


@dataclass(frozen=True, slots=True)
class UndoAction:
    url: str
    label: str


@dataclass(frozen=True, slots=True)
class IssueRow:
    """One issue as the tray shows it; `state` and `panel` say which variant is rendered."""

    business_id: int
    business_name: str
    rule: str
    entity_type: str
    qbo_id: str
    severity: Severity
    amount_cents: int
    currency: str
    forecast_effect: str
    fix: str
    entity_label: str
    impact: ImpactView | None
    qbo_links: tuple[QboLink, ...]
    qbo_note: str | None
    can_triage: bool
    scope: str
    filters_query: str
    state: str = "open"
    panel: str | None = None
    fix_panel: FixPanel | None = None
    snooze_presets: tuple[tuple[str, int, str, dt.date], ...] = ()
    snooze_min: dt.date | None = None
    delete_choices: tuple[Option, ...] = ()
    delete_tokens: tuple[tuple[str, str], ...] = ()
    conflict: ConflictView | None = None
    error: str | None = None
    outcome: str | None = None
    undo: UndoAction | None = None

    @property
    def rule_label(self) -> str:
        return RULE_LABELS.get(self.rule, self.rule.replace("_", " ").capitalize())

    @property
    def fix_label(self) -> str:
        return FIX_LABELS.get(self.fix, self.fix.replace("_", " ").capitalize())

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]

    @property
    def writes_qbo(self) -> bool:
        return self.fix in QBO_WRITES

    @property
    def dom_id(self) -> str:
        return _DOM_UNSAFE.sub("_", f"issue-{self.business_id}-{self.rule}-{self.entity_type}-{self.qbo_id}")

    @property
    def url(self) -> str:
        return (
            f"/b/{self.business_id}/hygiene/issues/{quote(self.rule, safe='')}/"
            f"{quote(self.entity_type, safe='')}/{quote(self.qbo_id or NO_ID, safe='')}"
        )

    @property
    def amount_label(self) -> str:
        return format_money(Money(self.amount_cents, self.currency))

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def aria_label(self) -> str:
        client = f"{self.business_name}: " if self.scope == "firm" else ""
        return (
            f"{client}{self.severity_label} severity. {self.rule_label}. "
            f"{self.entity_label}, {self.amount_label}."
        )


@dataclass(frozen=True, slots=True)
class GroupView:
    key: str
    label: str
    rows: tuple[IssueRow, ...]


@dataclass(frozen=True, slots=True)
class CountersView:
    """The header numbers, swapped out-of-band after every action; also carries the poll."""

    scope: str
    score: int | None
    high: int
    medium: int
    low: int
    cleared: int
    marker: str
    poll_url: str
    sync_active: bool = False
    last_sync_at: dt.datetime | None = None

    @property
    def open_total(self) -> int:
        return self.high + self.medium + self.low

    @property
    def seen_total(self) -> int:
        return self.cleared + self.open_total


@dataclass(frozen=True, slots=True)
class TrayFilters:
    """What the person asked to see. Unknown values are ignored rather than refused."""

    rule: str | None = None
    severity: str | None = None
    sort: str = "severity"
    client: int | None = None
    page: int = 1
    firm: int | None = None

    @classmethod
    def parse(
        cls,
        *,
        rule: str | None = None,
        severity: str | None = None,
        sort: str | None = None,
        client: str | None = None,
        page: str | None = None,
        firm: str | None = None,
    ) -> TrayFilters:
        return cls(
            rule=rule if rule in RULE_LABELS else None,
            severity=severity if severity in SEVERITY_LABELS else None,
            sort="money" if sort == "money" else "severity",
            client=_int(client),
            page=max(_int(page) or 1, 1),
            firm=_int(firm),
        )

    def query(self, **overrides: object) -> str:
        """The query string for these filters (the first page is implied), for links and forms."""
        values: dict[str, object] = {
            "firm": self.firm,
            "client": self.client,
            "rule": self.rule,
            "severity": self.severity,
            "sort": self.sort if self.sort != "severity" else None,
        }
        values.update(overrides)
        if values.get("page") == 1:
            values["page"] = None
        return urlencode({k: v for k, v in values.items() if v is not None and v != ""})

    @classmethod
    def from_query(cls, query: str) -> TrayFilters:
        """Filters carried through a form as a query string (the `q` field of every row action)."""
        values = {k: v[-1] for k, v in parse_qs(query or "").items() if v}
        return cls.parse(
            rule=values.get("rule"),
            severity=values.get("severity"),
            sort=values.get("sort"),
            client=values.get("client"),
            page=values.get("page"),
            firm=values.get("firm"),
        )

    def matches(self, issue: HygieneIssue | RegisterIssue) -> bool:
        return (self.rule is None or issue.rule == self.rule) and (
            self.severity is None or issue.severity == self.severity
        )


@dataclass(frozen=True, slots=True)
class ClientOption:
    id: int
    name: str
    score: int
    open_count: int
    selected: bool


@dataclass(frozen=True, slots=True)
class Notice:
    text: str
    undo: UndoAction | None = None
    error: bool = False


@dataclass(frozen=True, slots=True)
class TrayView:
    """A whole tray page: header counters, filters, the issues grouped by severity, one page of them."""

    scope: str
    title: str
    business_id: int | None
    firm_id: int | None
    counters: CountersView
    groups: tuple[GroupView, ...]
    filters: TrayFilters
    rule_options: tuple[Option, ...]
    client_options: tuple[ClientOption, ...]
    total_rows: int
    page: int
    pages: int
    can_triage: bool
    base_url: str
    csv_url: str
    currency: str
    notice: Notice | None = None
    role_label: str = ""

    @property
    def empty(self) -> bool:
        return self.total_rows == 0

    def page_url(self, page: int) -> str:
        query = self.filters.query(page=page if page > 1 else None)
        return f"{self.base_url}?{query}" if query else self.base_url


@dataclass(frozen=True, slots=True)
class ActionResult:
    """An action's outcome: the changed row and the counters; the whole page when no htmx is involved."""

    row: IssueRow
    counters: CountersView
    page: TrayView | None = None


@dataclass(frozen=True, slots=True)
class CsvExport:
    filename: str
    text: str


# --- helpers ---------------------------------------------------------------------------------------------


def _int(text: str | None) -> int | None:
    if text is None or not text.strip().isdigit():
        return None
    return int(text.strip())


def _day(day: dt.date | None) -> str:
    return "" if day is None else f"{day.day} {day:%b %Y}"


def _money(cents: int, currency: str) -> str:
    return format_money(Money(cents, currency))


def parse_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Context:
    """One business's tray data plus the lookups rows need, for one request."""

    data: TrayData
    index: SnapshotIndex
    bills: Mapping[str, BillSnap]
    invoices: Mapping[str, InvoiceSnap]
    payments: Mapping[str, PaymentSnap]
    purchases: Mapping[str, PurchaseSnap]
    by_key: Mapping[tuple[str, str, str], HygieneIssue] = field(hash=False)

    @classmethod
    def of(cls, data: TrayData) -> _Context:
        snap = data.snapshot
        return cls(
            data=data,
            index=SnapshotIndex.of(snap),
            bills={b.qbo_id: b for b in snap.bills},
            invoices={i.qbo_id: i for i in snap.invoices},
            payments={p.qbo_id: p for p in snap.payments},
            purchases={p.qbo_id: p for p in snap.purchases},
            by_key={issue_key(i): i for i in data.detected},
        )

    @property
    def currency(self) -> str:
        return self.data.snapshot.home_currency

    @property
    def snapshot(self) -> BusinessSnapshot:
        return self.data.snapshot


class HygieneTrayService:
    """The Hygiene Tray: per business (`tray`) and per firm (`firm_tray`), with triage and fixes."""

    def __init__(
        self,
        orchestrator: HygieneTrayDataOrchestrator,
        *,
        qbo_links: QboLinkStyle = "local_sandbox",
        impact: ImpactCalculator | None = None,
    ) -> None:
        self.data_orchestrator = orchestrator
        self.qbo_links = qbo_links
        self.impact = impact or ImpactCalculator()

    # --- pages -----------------------------------------------------------------------------------------

    async def tray(
        self,
        business: BusinessContext,
        filters: TrayFilters,
        *,
        now: dt.datetime | None = None,
        open_row: tuple[str, str, str, str] | None = None,
        notice: Notice | None = None,
    ) -> TrayView:
        """One business's tray; `open_row` = (rule, entity_type, qbo_id, panel) renders that row expanded."""
        moment = now or dt.datetime.now(dt.UTC)
        ctx = _Context.of(await self.data_orchestrator.tray_data(business.id, now=moment))
        can = business.can(Capability.TRIAGE)
        rows_issues = [i for i in ctx.data.open if filters.matches(i)]
        ordered = self._order(rows_issues, filters)
        total = len(ordered)
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        page = min(filters.page, pages)
        shown = ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        rows: list[IssueRow] = []
        for issue in shown:
            row = self._row(ctx, issue, business.name, can, "business", filters)
            if open_row is not None and open_row[:3] == issue_key(issue):
                row = await self._with_panel(ctx, row, issue, open_row[3])
            rows.append(row)
        base = f"/b/{business.id}/hygiene"
        return TrayView(
            scope="business",
            title=business.name,
            business_id=business.id,
            firm_id=business.firm_id,
            counters=self._counters(ctx.data, "business", base, filters),
            groups=self._groups(rows, filters),
            filters=filters,
            rule_options=self._rule_options(ctx.data.open, filters),
            client_options=(),
            total_rows=total,
            page=page,
            pages=pages,
            can_triage=can,
            base_url=base,
            csv_url=f"{base}.csv" + (f"?{filters.query()}" if filters.query() else ""),
            currency=ctx.currency,
            notice=notice,
            role_label=business.role,
        )

    async def firm_tray(
        self,
        user: CurrentUser,
        filters: TrayFilters,
        *,
        now: dt.datetime | None = None,
        notice: Notice | None = None,
    ) -> TrayView:
        """Every client of the person's firm in one tray (firm staff only); rows name their client."""
        firm_id, firm_name, role = self._firm_of(user, filters.firm)
        moment = now or dt.datetime.now(dt.UTC)
        can = Capability.TRIAGE in capabilities(role)
        business_ids = await self.data_orchestrator.firm_business_ids(user.id, firm_id)
        views = await self.data_orchestrator.register_views(business_ids, now=moment)
        clients = tuple(
            ClientOption(
                v.business.id,
                v.business.name,
                v.score,
                len(v.open),
                v.business.id == filters.client,
            )
            for v in sorted(views, key=lambda v: v.business.name.lower())
        )
        chosen = [v for v in views if filters.client is None or v.business.id == filters.client]
        pairs = [(v, i) for v in chosen for i in v.open if filters.matches(i)]
        if filters.sort == "money":
            pairs.sort(key=lambda p: (-p[1].amount_cents, p[1].sort_key(), p[0].business.name))
        else:
            pairs.sort(key=lambda p: (p[1].sort_key(), p[0].business.name))
        total = len(pairs)
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        page = min(filters.page, pages)
        shown = pairs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        labelled: set[int] = set()
        rows = await self._register_rows(shown, can, "firm", filters, moment, labelled)
        # Label every client's issues once after its books changed, so triage from any page (or a filter)
        # reads the register instead of the books.
        for view in views:
            if view.unlabelled and view.business.id not in labelled:
                await self._displays(view.business.id, [], moment)
        base = "/firm/hygiene"
        counters = self._firm_counters(
            views, firm_id, filters, marker=self._firm_marker(v.marker for v in views)
        )
        currencies = {v.business.home_currency for v in views}
        return TrayView(
            scope="firm",
            title=firm_name,
            business_id=None,
            firm_id=firm_id,
            counters=counters,
            groups=self._groups(rows, filters),
            filters=filters,
            rule_options=self._rule_options([i for v in views for i in v.open], filters),
            client_options=clients,
            total_rows=total,
            page=page,
            pages=pages,
            can_triage=can,
            base_url=base,
            csv_url=f"{base}.csv" + (f"?{filters.query()}" if filters.query() else ""),
            currency=currencies.pop() if len(currencies) == 1 else "USD",
            notice=notice,
            role_label=role,
        )

    async def poll(
        self, business: BusinessContext, filters: TrayFilters, marker: str, *, now: dt.datetime | None = None
    ) -> TrayView | None:
        """None while nothing changed since `marker` (a sync finished, or someone triaged), else the tray."""
        if await self.data_orchestrator.poll_marker(business.id) == marker:
            return None
        return await self.tray(business, filters, now=now)

    async def firm_poll(
        self, user: CurrentUser, filters: TrayFilters, marker: str, *, now: dt.datetime | None = None
    ) -> TrayView | None:
        firm_id, _name, _role = self._firm_of(user, filters.firm)
        states = await self.data_orchestrator.firm_states(user.id, firm_id)
        current = self._firm_marker(s.marker for s in states)
        if current == marker:
            return None
        return await self.firm_tray(user, filters, now=now)

    async def export_csv(
        self, business: BusinessContext | None, user: CurrentUser, filters: TrayFilters
    ) -> CsvExport:
        """The open issues (all pages, filters applied) as CSV: one business, or the whole firm."""
        moment = dt.datetime.now(dt.UTC)
        if business is not None:
            contexts = [_Context.of(await self.data_orchestrator.tray_data(business.id, now=moment))]
            stem = business.name
        else:
            firm_id, firm_name, _role = self._firm_of(user, filters.firm)
            ids = await self.data_orchestrator.firm_business_ids(user.id, firm_id)
            contexts = [_Context.of(await self.data_orchestrator.tray_data(bid, now=moment)) for bid in ids]
            if filters.client is not None:
                contexts = [c for c in contexts if c.data.business.id == filters.client]
            stem = firm_name
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(
            [
                "client",
                "severity",
                "rule",
                "entity_type",
                "qbo_id",
                "entity",
                "amount",
                "amount_cents",
                "currency",
                "forecast_effect",
                "fix",
                "runway_delta_days",
                "new_cash_zero_date",
                "new_lowest_cash_cents",
                "qbo_link",
            ]
        )
        for ctx in contexts:
            for issue in self._order([i for i in ctx.data.open if filters.matches(i)], filters):
                row = self._row(ctx, issue, ctx.data.business.name, False, "export", filters)
                impact = row.impact
                writer.writerow(
                    [
                        _cell(ctx.data.business.name),
                        issue.severity,
                        issue.rule,
                        issue.entity_type,
                        issue.qbo_id,
                        _cell(row.entity_label),
                        f"{issue.amount_cents / 100:.2f}",
                        issue.amount_cents,
                        ctx.currency,
                        _cell(issue.forecast_effect),
                        issue.fix,
                        "" if impact is None or impact.delta_days is None else impact.delta_days,
                        ""
                        if impact is None or impact.new_cash_zero_date is None
                        else impact.new_cash_zero_date,
                        "" if impact is None else impact.new_lowest_cash_cents,
                        row.qbo_links[0].url if row.qbo_links else "",
                    ]
                )
        safe = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-").lower() or "tray"
        return CsvExport(f"hygiene-{safe}-{moment.date().isoformat()}.csv", out.getvalue())

    # --- one row -----------------------------------------------------------------------------------------

    async def issue_row(
        self,
        business: BusinessContext,
        key: tuple[str, str, str],
        panel: str | None,
        *,
        scope: str,
        filters: TrayFilters,
        now: dt.datetime | None = None,
    ) -> IssueRow:
        """One open issue's row, with an inline panel (fix, snooze, delete) or none."""
        ctx = await self._context(business, now)
        issue = self._open_issue(ctx, key)
        row = self._row(ctx, issue, business.name, business.can(Capability.TRIAGE), scope, filters)
        if panel is not None and not row.can_triage:
            raise TriageNotAllowedError(_VIEWER_MESSAGE)
        return await self._with_panel(ctx, row, issue, panel)

    async def preview(
        self,
        business: BusinessContext,
        key: tuple[str, str, str],
        form: Mapping[str, str],
        *,
        scope: str = "business",
    ) -> IssueRow:
        """The row with its fix panel showing the runway delta for the values being typed."""
        ctx = await self._context(business, None)
        issue = self._open_issue(ctx, key)
        row = self._row(ctx, issue, business.name, business.can(Capability.TRIAGE), scope, TrayFilters())
        change, label = self._change_from_form(ctx, issue, form)
        impact = self._impact(ctx, change, label) if change is not None else None
        panel = await self._fix_panel(ctx, issue, form)
        return replace(row, panel="fix", fix_panel=replace(panel, impact=impact))

    # --- actions -----------------------------------------------------------------------------------------

    async def dismiss(
        self,
        business: BusinessContext,
        user: CurrentUser,
        key: tuple[str, str, str],
        *,
        scope: str,
        filters: TrayFilters,
        want_page: bool,
    ) -> ActionResult:
        """Dismiss as "not an issue": hidden until the fields it was detected on change."""
        entry, detail = await self._registered_issue(business, key, user=user, scope=scope)
        issue = detail.issue
        current = entry if entry.detail is detail else None
        found = await self.data_orchestrator.dismiss(business.id, issue, user_id=user.id, current=current)
        row = await self._cleared_row(business, entry, detail, scope, filters)
        outcome = "Dismissed as not an issue; it reopens if its details change in QuickBooks."
        undo = UndoAction(f"{row.url}/reopen", "Undo dismiss")
        dismissed = replace(row, state="dismissed")
        return await self._result(
            business, user, dismissed, outcome, undo, scope, filters, want_page, found, entry.firm
        )

    async def snooze(
        self,
        business: BusinessContext,
        user: CurrentUser,
        key: tuple[str, str, str],
        form: Mapping[str, str],
        *,
        scope: str,
        filters: TrayFilters,
        want_page: bool,
        now: dt.datetime | None = None,
    ) -> ActionResult:
        """Hide until a date (a preset number of days, or a date after today); it reopens by itself."""
        entry, detail = await self._registered_issue(business, key, now, user=user, scope=scope)
        issue = detail.issue
        as_of = entry.as_of
        until: dt.date | None = None
        problem = "Choose how long to snooze."
        days = _int(form.get("days"))
        if days is not None and 1 <= days <= 366:
            until = as_of + dt.timedelta(days=days)
        elif form.get("until"):
            until = parse_date(form.get("until"))
            if until is None or until <= as_of:
                until, problem = None, f"Pick a date after today ({_day(as_of)})."
        if until is None:
            open_row = await self._open_row(business, entry, issue, scope, filters, now)
            raise FixInputError(
                problem,
                replace(self._snooze_row(open_row, as_of), error=problem),
                self._summary_counters(
                    await self._register_summary(business, now), scope, self._base(business, scope), filters
                ),
            )
        row = await self._cleared_row(business, entry, detail, scope, filters)
        current = entry if entry.detail is detail else None
        found = await self.data_orchestrator.snooze(
            business.id, issue, until=until, user_id=user.id, current=current
        )
        outcome = f"Snoozed until {_day(until)}; it reopens by itself that day."
        undo = UndoAction(f"{row.url}/reopen", "Undo snooze")
        snoozed = replace(row, state="snoozed")
        return await self._result(
            business, user, snoozed, outcome, undo, scope, filters, want_page, found, entry.firm
        )

    async def reopen(
        self,
        business: BusinessContext,
        user: CurrentUser,
        key: tuple[str, str, str],
        *,
        scope: str,
        filters: TrayFilters,
        want_page: bool,
    ) -> ActionResult:
        """Undo a dismissal or a snooze: the row is open again."""
        entry, detail = await self._registered_issue(business, key, user=user, scope=scope)
        issue = detail.issue
        current = entry if entry.detail is detail else None
        found = await self.data_orchestrator.reopen(business.id, issue, user_id=user.id, current=current)
        moment = dt.datetime.now(dt.UTC)
        fresh = await self.data_orchestrator.register_entry(business.id, key, now=moment)
        row = await self._open_row(business, fresh, issue, scope, filters, moment)
        summary = found if found is not None else await self._register_summary(business, moment)
        counters = await self._counters_after(summary, business, user, scope, filters, entry.firm)
        page = None
        if want_page:
            page = await self._page_after(
                business, user, scope, filters, Notice("Reopened; it is back in the tray.")
            )
        return ActionResult(row, counters, page)

    async def fix(
        self,
        business: BusinessContext,
        user: CurrentUser,
        key: tuple[str, str, str],
        form: Mapping[str, str],
        *,
        scope: str,
        filters: TrayFilters,
        want_page: bool,
    ) -> ActionResult:
        """Apply the issue's fix (written to QuickBooks through SmartSync where it is a QBO fix)."""
        ctx = await self._context(business, None, require_triage=True)
        issue = self._open_issue(ctx, key)
        row = self._row(ctx, issue, business.name, True, scope, filters)
        counters = self._counters(ctx.data, scope, self._base(business, scope), filters)
        action = form.get("action", "")
        try:
            outcome = await self._apply_fix(ctx, issue, row, form, action, user)
        except _InputProblem as problem:
            panel_row = await self._with_panel(ctx, row, issue, problem.panel, form)
            raise FixInputError(str(problem), replace(panel_row, error=str(problem)), counters) from None
        except HygieneConflictError as conflict:
            # SmartSync stored QuickBooks' current version; the retry form carries its SyncToken(s).
            fresh_form = {k: v for k, v in form.items() if k != "sync_token" and not k.startswith("token_")}
            panel_row = await self._with_panel(
                ctx, row, issue, "delete" if action == "delete" else "fix", fresh_form
            )
            raise FixConflictError(replace(panel_row, conflict=_conflict_view(conflict)), counters) from None
        except HygieneWriteError as failure:
            panel_row = await self._with_panel(ctx, row, issue, "fix", form)
            raise FixFailedError(str(failure), replace(panel_row, error=str(failure)), counters) from None
        except HygieneIssueNotFoundError:
            raise IssueNotFoundError(key) from None
        undo = None
        if isinstance(outcome, FixOutcome):
            if outcome.revertible:
                undo = UndoAction(
                    f"/b/{business.id}/hygiene/fixes/{outcome.fix_id}/undo", "Undo in QuickBooks"
                )
            text = outcome.summary
        else:
            text = outcome
        state = (
            "snoozed"
            if issue.fix == "chase"
            else ("pending" if issue.fix in ("resync", "sync_now") else "fixed")
        )
        return await self._result(
            business, user, replace(row, state=state), text, undo, scope, filters, want_page
        )

    async def undo_fix(
        self,
        business: BusinessContext,
        user: CurrentUser,
        fix_id: int,
        *,
        scope: str,
        filters: TrayFilters,
        want_page: bool,
    ) -> ActionResult:
        """Undo a fix in QuickBooks (restore the old values, or delete the recorded payment)."""
        if not business.can(Capability.TRIAGE):
            raise TriageNotAllowedError(_VIEWER_MESSAGE)
        try:
            fix = await self.data_orchestrator.revert_fix(business.id, fix_id, user_id=user.id)
        except HygieneIssueNotFoundError:
            raise IssueNotFoundError(fix_id) from None
        except (FixNotRevertibleError, HygieneConflictError, HygieneWriteError) as exc:
            raise FixUndoFailedError(str(exc)) from None
        fresh = await self._context(business, None)
        key = (fix["rule"], fix["entity_type"], fix["qbo_id"])
        issue = fresh.by_key.get(key)
        counters = await self._counters_after(
            await self._register_summary(business), business, user, scope, filters
        )
        if issue is None:
            # The books no longer trigger the rule at all; show what was undone instead of the row.
            bare = self._bare_row(fresh, key, business.name, scope, filters)
            row = replace(bare, state="undone", outcome=f"Undone: {fix['summary']}")
        else:
            row = self._row(fresh, issue, business.name, True, scope, filters)
        page = None
        if want_page:
            page = await self._page_after(
                business, user, scope, filters, Notice(f"Undone in QuickBooks: {fix['summary']}")
            )
        return ActionResult(row, counters, page)

    # --- internals ---------------------------------------------------------------------------------------

    async def _context(
        self, business: BusinessContext, now: dt.datetime | None, *, require_triage: bool = False
    ) -> _Context:
        if require_triage and not business.can(Capability.TRIAGE):
            raise TriageNotAllowedError(_VIEWER_MESSAGE)
        moment = now or dt.datetime.now(dt.UTC)
        return _Context.of(await self.data_orchestrator.tray_data(business.id, now=moment))

    def _open_issue(self, ctx: _Context, key: tuple[str, str, str]) -> HygieneIssue:
        issue = ctx.by_key.get(key)
        if issue is None or key in ctx.data.hidden:
            raise IssueNotFoundError(key)
        return issue

    def _detected_issue(self, ctx: _Context, key: tuple[str, str, str]) -> HygieneIssue:
        issue = ctx.by_key.get(key)
        if issue is None:
            raise IssueNotFoundError(key)
        return issue

    def _base(self, business: BusinessContext, scope: str) -> str:
        return "/firm/hygiene" if scope == "firm" else f"/b/{business.id}/hygiene"

    def _firm_of(self, user: CurrentUser, firm_id: int | None) -> tuple[int, str, str]:
        if not user.firms:
            raise TriageNotAllowedError(
                "The firm tray is for members of an accounting firm; open your business's own tray instead."
            )
        for firm in user.firms:
            if firm_id is None or firm.firm_id == firm_id:
                return firm.firm_id, firm.name, firm.role
        raise IssueNotFoundError(firm_id)

    def _order(self, issues: Sequence[HygieneIssue], filters: TrayFilters) -> list[HygieneIssue]:
        ordered = sorted(issues, key=HygieneIssue.sort_key)
        if filters.sort == "money":
            ordered.sort(key=lambda i: -i.amount_cents)
        return ordered

    def _groups(self, rows: Sequence[IssueRow], filters: TrayFilters) -> tuple[GroupView, ...]:
        if filters.sort == "money":
            return (GroupView("money", "All issues, largest amount first", tuple(rows)),) if rows else ()
        return tuple(
            GroupView(sev, f"{SEVERITY_LABELS[sev]} severity", tuple(r for r in rows if r.severity == sev))
            for sev in SEVERITIES
            if any(r.severity == sev for r in rows)
        )

    def _rule_options(
        self, issues: Iterable[HygieneIssue | RegisterIssue], filters: TrayFilters
    ) -> tuple[Option, ...]:
        counts = Counter(i.rule for i in issues)
        rules = sorted(
            set(counts) | ({filters.rule} if filters.rule else set()), key=lambda r: RULE_LABELS.get(r, r)
        )
        return tuple(
            Option(rule, f"{RULE_LABELS.get(rule, rule)} ({counts.get(rule, 0)})", rule == filters.rule)
            for rule in rules
        )

    def _counters(self, data: TrayData, scope: str, base: str, filters: TrayFilters) -> CountersView:
        counts = Counter(i.severity for i in data.open)
        query = filters.query(marker=data.marker)
        return CountersView(
            scope=scope,
            score=data.score,
            high=counts.get("high", 0),
            medium=counts.get("medium", 0),
            low=counts.get("low", 0),
            cleared=data.cleared_this_week,
            marker=data.marker,
            poll_url=f"{base}/poll?{query}",
            sync_active=data.triage.sync_active,
            last_sync_at=data.snapshot.last_successful_sync_at,
        )

    def _firm_marker(self, markers: Iterable[str]) -> str:
        return "-".join(markers) or "0"

    def _summary_counters(
        self, found: RegisterSummary, scope: str, base: str, filters: TrayFilters
    ) -> CountersView:
        summary = found.summary
        return CountersView(
            scope=scope,
            score=summary.score,
            high=summary.open_high,
            medium=summary.open_medium,
            low=summary.open_low,
            cleared=summary.cleared_week,
            marker=found.marker,
            poll_url=f"{base}/poll?{filters.query(marker=found.marker)}",
            sync_active=found.sync_active,
        )

    def _firm_counters(
        self, views: Sequence[RegisterView], firm_id: int, filters: TrayFilters, *, marker: str
    ) -> CountersView:
        counts = Counter(i.severity for v in views for i in v.open)
        return CountersView(
            scope="firm",
            score=None,
            high=counts.get("high", 0),
            medium=counts.get("medium", 0),
            low=counts.get("low", 0),
            cleared=sum(v.cleared_this_week for v in views),
            marker=marker,
            poll_url=f"/firm/hygiene/poll?{filters.query(marker=marker)}",
            sync_active=any(v.sync_active for v in views),
        )

    async def _counters_after(
        self,
        found: RegisterSummary,
        business: BusinessContext,
        user: CurrentUser,
        scope: str,
        filters: TrayFilters,
        firm: Iterable[FirmClientState] | None = None,
    ) -> CountersView:
        """Counters after an action: the business's own, or the firm's totals from each client's stored
        summary (the acting client's was just refreshed), without recomputing every client's books.
        `firm`: the clients' states read before the action (the acting client's is replaced by `found`)."""
        if scope != "firm" or business.firm_id is None:
            return self._summary_counters(found, "business", self._base(business, "business"), filters)
        firm_id = business.firm_id
        if firm is None:
            states = await self.data_orchestrator.firm_states(user.id, firm_id)
        else:
            acting = FirmClientState(business.id, found.summary, found.marker)
            states = [acting if s.business_id == business.id else s for s in firm]
        summaries = [s.summary for s in states if s.summary is not None]
        marker = self._firm_marker(s.marker for s in states)
        firm_filters = replace(filters, firm=firm_id)
        return CountersView(
            scope="firm",
            score=None,
            high=sum(s.open_high for s in summaries),
            medium=sum(s.open_medium for s in summaries),
            low=sum(s.open_low for s in summaries),
            cleared=sum(s.cleared_week for s in summaries),
            marker=marker,
            poll_url=f"/firm/hygiene/poll?{firm_filters.query(marker=marker)}",
        )

    async def _result(
        self,
        business: BusinessContext,
        user: CurrentUser,
        row: IssueRow,
        outcome: str,
        undo: UndoAction | None,
        scope: str,
        filters: TrayFilters,
        want_page: bool,
        found: RegisterSummary | None = None,
        firm: Iterable[FirmClientState] | None = None,
    ) -> ActionResult:
        """`found`: the header numbers after the action, when the action's own transaction counted them;
        `firm`: as for `_counters_after`."""
        if found is None:
            found = await self.data_orchestrator.register_summary(business.id, now=dt.datetime.now(dt.UTC))
        counters = await self._counters_after(found, business, user, scope, filters, firm)
        cleared = replace(row, panel=None, fix_panel=None, outcome=outcome, undo=undo, error=None)
        page = None
        if want_page:
            page = await self._page_after(
                business, user, scope, filters, Notice(f"{row.entity_label}: {outcome}", undo)
            )
        return ActionResult(cleared, counters, page)

    # --- rows read from the register -------------------------------------------------------------------

    async def _register_summary(
        self, business: BusinessContext, now: dt.datetime | None = None
    ) -> RegisterSummary:
        moment = now or dt.datetime.now(dt.UTC)
        return await self.data_orchestrator.register_summary(business.id, now=moment)

    async def _registered_issue(
        self,
        business: BusinessContext,
        key: tuple[str, str, str],
        now: dt.datetime | None = None,
        *,
        user: CurrentUser | None = None,
        scope: str = "business",
    ) -> tuple[RegisterEntry, RegisterDetail]:
        """The issue an action is about, from the register (open, dismissed or snoozed); 404 when the books
        do not show it. On the firm tray, the read also brings the firm's clients' states for the counters
        the action answers with (`user`: who acts)."""
        if not business.can(Capability.TRIAGE):
            raise TriageNotAllowedError(_VIEWER_MESSAGE)
        moment = now or dt.datetime.now(dt.UTC)
        firm_of = None
        if user is not None and scope == "firm" and business.firm_id is not None:
            firm_of = (user.id, business.firm_id)
        entry = await self.data_orchestrator.register_entry(business.id, key, now=moment, firm_of=firm_of)
        if entry.detail is not None:
            return entry, entry.detail
        # Not among the register's open entries (a fix waiting for its sync): the books decide.
        ctx = await self._context(business, moment)
        return entry, RegisterDetail(self._detected_issue(ctx, key), None)

    def _display(self, ctx: _Context, issue: HygieneIssue, *, with_impact: bool) -> dict[str, Any]:
        """What a row shows that depends on the books: stored with the register entry (plain JSON values)."""
        display: dict[str, Any] = {
            "label": self._entity_label(ctx, issue.entity_type, issue.qbo_id),
            "links": [list(target) for target in self._link_targets(ctx, issue)],
        }
        if with_impact:
            change, label = self._default_change(ctx, issue)
            impact = self._impact(ctx, change, label) if change is not None else None
            display["impact"] = None if impact is None else _impact_json(impact)
        return display

    async def _displays(
        self, business_id: int, issues: Sequence[HygieneIssue], now: dt.datetime | None
    ) -> dict[tuple[str, str, str], dict[str, Any]]:
        """Work out (from the books) and store what these issues' rows show; the labels and links of the
        business's other open issues are kept too where none is stored yet (one look at the books serves
        every later action on them), runway deltas only for the rows asked for."""
        moment = now or dt.datetime.now(dt.UTC)
        ctx = _Context.of(await self.data_orchestrator.tray_data(business_id, now=moment))
        wanted = {issue_key(i): ctx.by_key.get(issue_key(i), i) for i in issues}
        displays = {key: self._display(ctx, issue, with_impact=True) for key, issue in wanted.items()}
        others = {
            issue_key(i): self._display(ctx, i, with_impact=False)
            for i in ctx.data.detected
            if issue_key(i) not in wanted
        }
        await self.data_orchestrator.store_displays(business_id, displays, only_missing=others)
        return displays

    async def _register_rows(
        self,
        pairs: Sequence[tuple[RegisterView, RegisterIssue]],
        can: bool,
        scope: str,
        filters: TrayFilters,
        now: dt.datetime | None,
        labelled: set[int] | None = None,
    ) -> list[IssueRow]:
        """Rows read from the register; a row whose runway delta is not stored yet is worked out once (the
        businesses whose books were read for it are added to `labelled`)."""
        grouped: dict[int, list[RegisterIssue]] = {}
        for view, light in pairs:
            grouped.setdefault(view.business.id, []).append(light)
        details: dict[tuple[int, tuple[str, str, str]], RegisterDetail] = {}
        displays: dict[tuple[int, tuple[str, str, str]], Mapping[str, Any]] = {}
        for business_id, lights in grouped.items():
            found = await self.data_orchestrator.register_details(business_id, lights)
            missing = []
            for key, detail in found.items():
                details[(business_id, key)] = detail
                if detail.display is None or "impact" not in detail.display:
                    missing.append(detail.issue)
                else:
                    displays[(business_id, key)] = detail.display
            if missing:
                if labelled is not None:
                    labelled.add(business_id)
                for key, display in (await self._displays(business_id, missing, now)).items():
                    displays[(business_id, key)] = display
        rows = []
        for view, light in pairs:
            at = (view.business.id, light.key)
            if at in details:
                detail = details[at]
                rows.append(self._row_from(view.business, detail.issue, displays[at], can, scope, filters))
        return rows

    async def _open_row(
        self,
        business: BusinessContext,
        entry: RegisterEntry,
        issue: HygieneIssue,
        scope: str,
        filters: TrayFilters,
        now: dt.datetime | None,
    ) -> IssueRow:
        named = replace(entry.business, name=business.name)
        display = entry.detail.display if entry.detail is not None else None
        if display is None or "impact" not in display:
            display = (await self._displays(business.id, [issue], now))[issue_key(issue)]
        return self._row_from(named, issue, display, True, scope, filters)

    async def _cleared_row(
        self,
        business: BusinessContext,
        entry: RegisterEntry,
        detail: RegisterDetail,
        scope: str,
        filters: TrayFilters,
    ) -> IssueRow:
        """The row an action hides (dismissed, snoozed): it shows the entity's label, not the runway delta."""
        issue = detail.issue
        display = detail.display
        if display is None:
            display = (await self._displays(business.id, [issue], None))[issue_key(issue)]
        return self._row_from(
            replace(entry.business, name=business.name), issue, display, True, scope, filters
        )

    def _row_from(
        self,
        business: BusinessFacts,
        issue: HygieneIssue,
        display: Mapping[str, Any],
        can: bool,
        scope: str,
        filters: TrayFilters,
    ) -> IssueRow:
        links, note = self._links_from(display.get("links") or [])
        impact = display.get("impact")
        return IssueRow(
            business_id=business.id,
            business_name=business.name,
            rule=issue.rule,
            entity_type=issue.entity_type,
            qbo_id=issue.qbo_id,
            severity=issue.severity,
            amount_cents=issue.amount_cents,
            currency=business.home_currency,
            forecast_effect=issue.forecast_effect,
            fix=issue.fix,
            entity_label=str(display.get("label", "")),
            impact=_impact_from_json(impact) if impact else None,
            qbo_links=links,
            qbo_note=note,
            can_triage=can,
            scope=scope,
            filters_query=filters.query(),
        )

    async def _page_after(
        self, business: BusinessContext, user: CurrentUser, scope: str, filters: TrayFilters, notice: Notice
    ) -> TrayView:
        if scope == "firm":
            return await self.firm_tray(user, filters, notice=notice)
        return await self.tray(business, filters, notice=notice)

    def _bare_row(
        self, ctx: _Context, key: tuple[str, str, str], name: str, scope: str, filters: TrayFilters
    ) -> IssueRow:
        rule, entity_type, qbo_id = key
        severity: Severity = "medium"
        return IssueRow(
            business_id=ctx.data.business.id,
            business_name=name,
            rule=rule,
            entity_type=entity_type,
            qbo_id=qbo_id,
            severity=severity,
            amount_cents=0,
            currency=ctx.currency,
            forecast_effect="",
            fix="",
            entity_label=self._entity_label(ctx, entity_type, qbo_id),
            impact=None,
            qbo_links=(),
            qbo_note=None,
            can_triage=True,
            scope=scope,
            filters_query=filters.query(),
        )

    def _row(
        self,
        ctx: _Context,
        issue: HygieneIssue,
        business_name: str,
        can: bool,
        scope: str,
        filters: TrayFilters,
    ) -> IssueRow:
        links, note = self._qbo_links(ctx, issue)
        change, label = self._default_change(ctx, issue)
        return IssueRow(
            business_id=ctx.data.business.id,
            business_name=business_name,
            rule=issue.rule,
            entity_type=issue.entity_type,
            qbo_id=issue.qbo_id,
            severity=issue.severity,
            amount_cents=issue.amount_cents,
            currency=ctx.currency,
            forecast_effect=issue.forecast_effect,
            fix=issue.fix,
            entity_label=self._entity_label(ctx, issue.entity_type, issue.qbo_id),
            impact=self._impact(ctx, change, label) if change is not None else None,
            qbo_links=links,
            qbo_note=note,
            can_triage=can,
            scope=scope,
            filters_query=filters.query(),
        )

    def _snooze_row(self, row: IssueRow, as_of: dt.date) -> IssueRow:
        presets = tuple(
            (hotkey, days, label, as_of + dt.timedelta(days=days)) for hotkey, days, label in SNOOZE_PRESETS
        )
        return replace(row, panel="snooze", snooze_presets=presets, snooze_min=as_of + dt.timedelta(days=1))

    async def _with_panel(
        self,
        ctx: _Context,
        row: IssueRow,
        issue: HygieneIssue,
        panel: str | None,
        form: Mapping[str, str] | None = None,
    ) -> IssueRow:
        if panel == "snooze":
            return self._snooze_row(row, ctx.data.as_of)
        if panel == "delete" and issue.fix == "resolve_duplicate":
            fix_panel = await self._fix_panel(ctx, issue, form or {})
            choices = self._delete_choices(ctx, issue, (form or {}).get("bill"))
            tokens = []
            for choice in choices:
                version = await self.data_orchestrator.entity_version(
                    ctx.data.business.id, "bill", choice.value
                )
                if version is not None:
                    tokens.append(
                        (choice.value, (form or {}).get(f"token_{choice.value}") or version.sync_token)
                    )
            return replace(
                row, panel="delete", fix_panel=fix_panel, delete_choices=choices, delete_tokens=tuple(tokens)
            )
        if panel == "fix":
            fix_panel = await self._fix_panel(ctx, issue, form or {})
            if form:
                change, label = self._change_from_form(ctx, issue, form)
                if change is not None:
                    fix_panel = replace(fix_panel, impact=self._impact(ctx, change, label))
            return replace(row, panel="fix", fix_panel=fix_panel)
        return row

    # --- what each row says ------------------------------------------------------------------------------

    def _entity_label(self, ctx: _Context, entity_type: str, qbo_id: str) -> str:
        index = ctx.index
        if entity_type == "bill":
            bill = ctx.bills.get(qbo_id)
            if bill is None:
                return f"Bill {qbo_id}"
            vendor = index.vendors.get(bill.vendor_qbo_id)
            who = vendor.display_name if vendor else f"vendor {bill.vendor_qbo_id}"
            number = f" No. {bill.doc_number.strip()}" if bill.doc_number and bill.doc_number.strip() else ""
            return f"Bill {qbo_id}{number} · {who} · dated {_day(bill.txn_date)}"
        if entity_type == "invoice":
            invoice = ctx.invoices.get(qbo_id)
            if invoice is None:
                return f"Invoice {qbo_id}"
            customer = index.customers.get(invoice.customer_qbo_id)
            who = customer.display_name if customer else f"customer {invoice.customer_qbo_id}"
            number = (
                f" No. {invoice.doc_number.strip()}"
                if invoice.doc_number and invoice.doc_number.strip()
                else ""
            )
            return f"Invoice {qbo_id}{number} · {who} · dated {_day(invoice.txn_date)}"
        if entity_type == "purchase":
            purchase = ctx.purchases.get(qbo_id)
            if purchase is None:
                return f"Expense {qbo_id}"
            who = ""
            vendor_of = index.vendors.get(purchase.entity_qbo_id or "")
            if purchase.entity_type == "Vendor" and vendor_of is not None:
                who = f" · {vendor_of.display_name}"
            return f"Expense {qbo_id}{who} · dated {_day(purchase.txn_date)}"
        if entity_type == "payment":
            payment = ctx.payments.get(qbo_id)
            if payment is None:
                return f"Payment {qbo_id}"
            customer = index.customers.get(payment.customer_qbo_id)
            who = customer.display_name if customer else f"customer {payment.customer_qbo_id}"
            return f"Payment {qbo_id} · {who} · received {_day(payment.txn_date)}"
        if entity_type == "vendor":
            vendor = index.vendors.get(qbo_id)
            return f"Vendor {vendor.display_name if vendor else qbo_id}"
        if entity_type == "account":
            account = index.accounts.get(qbo_id)
            return f"Account {account.name if account else qbo_id}"
        return "QuickBooks sync"

    def _qbo_links(self, ctx: _Context, issue: HygieneIssue) -> tuple[tuple[QboLink, ...], str | None]:
        return self._links_from(self._link_targets(ctx, issue))

    def _link_targets(self, ctx: _Context, issue: HygieneIssue) -> list[tuple[str, str, str]]:
        """(entity type, QBO id, label) of what a row links to in QuickBooks, whatever the link style."""
        targets: list[tuple[str, str]] = [(issue.entity_type, issue.qbo_id)]
        if issue.rule == "expense_to_vendor_with_open_bill":
            targets += [("bill", b) for b in issue.fix_params.get("bill_ids", "").split(",") if b]
        if issue.rule == "possible_duplicate_bill":
            targets += [("bill", b) for b in issue.fix_params.get("other_bill_ids", "").split(",") if b]
        found: list[tuple[str, str, str]] = []
        for entity_type, qbo_id in targets:
            if entity_type == "business":
                found.append((entity_type, qbo_id, "Open QuickBooks"))
            elif entity_type in _QBO_PATHS:
                label = self._entity_label(ctx, entity_type, qbo_id).split(" · ")[0]
                found.append((entity_type, qbo_id, f"Open {label} in QuickBooks"))
        return found

    def _links_from(self, targets: Iterable[Sequence[str]]) -> tuple[tuple[QboLink, ...], str | None]:
        if self.qbo_links == "local_sandbox":
            return (), LOCAL_SANDBOX_NOTE
        host = _QBO_HOSTS[self.qbo_links]
        links = []
        for entity_type, qbo_id, label in targets:
            if entity_type == "business":
                links.append(QboLink(label, f"{host}homepage"))
            elif entity_type in _QBO_PATHS:
                links.append(QboLink(label, f"{host}{_QBO_PATHS[entity_type]}{quote(qbo_id)}"))
        return tuple(links), None

    def _impact(self, ctx: _Context, change: Change, label: str) -> ImpactView:
        result = self.impact.impact(ctx.snapshot, ctx.data.as_of, (change,))
        return ImpactView(
            change_label=label,
            delta_days=result.delta_runway_days,
            direction=result.direction,
            new_cash_zero_date=result.new_cash_zero_date,
            new_lowest_cash_cents=result.new_lowest_cash_cents,
            delta_lowest_cash_cents=result.delta_lowest_cash_cents,
            words=result.describe(),
            currency=ctx.currency,
        )

    def _default_change(self, ctx: _Context, issue: HygieneIssue) -> tuple[Change | None, str]:
        """The change the row's delta is about: the fix as prefilled."""
        fix = issue.fix
        if fix == "set_due_date":
            suggested = parse_date(issue.fix_params.get("suggested_due_date"))
            if suggested is None or issue.entity_type not in ("bill", "invoice"):
                return None, ""
            return SetDueDate(issue.entity_type, issue.qbo_id, suggested), f"if due {_day(suggested)}"
        if fix == "set_vendor_terms":
            term = self._suggested_term(ctx, issue.qbo_id)
            if term is None:
                return None, ""
            return SetVendorTerms(issue.qbo_id, term[0]), f"with {term[1]} terms"
        if fix == "record_payment":
            return RecordBillPaid(issue.qbo_id), "if recorded as paid"
        if fix == "resolve_duplicate":
            target = self._delete_default(ctx, issue)
            return (DeleteBill(target), f"if bill {target} is deleted") if target else (None, "")
        if fix == "apply_payment":
            invoice = self._suggested_invoice(ctx, issue.qbo_id)
            if invoice is None:
                return None, ""
            return ApplyPayment(issue.qbo_id, invoice.qbo_id), f"if applied to invoice {invoice.qbo_id}"
        if fix == "chase":
            return Chase(issue.qbo_id), "if chased"
        return None, ""

    def _change_from_form(
        self, ctx: _Context, issue: HygieneIssue, form: Mapping[str, str]
    ) -> tuple[Change | None, str]:
        fix = issue.fix
        if fix == "set_due_date":
            due = parse_date(form.get("due_date"))
            if due is None or issue.entity_type not in ("bill", "invoice"):
                return None, ""
            return SetDueDate(issue.entity_type, issue.qbo_id, due), f"if due {_day(due)}"
        if fix == "set_vendor_terms":
            term = ctx.index.terms.get(form.get("term", ""))
            if term is None:
                return None, ""
            return SetVendorTerms(issue.qbo_id, term.qbo_id), f"with {term.name} terms"
        if fix == "apply_payment":
            invoice_id = form.get("invoice", "")
            if invoice_id not in ctx.invoices:
                return None, ""
            return ApplyPayment(issue.qbo_id, invoice_id), f"if applied to invoice {invoice_id}"
        if fix == "resolve_duplicate":
            bill_id = form.get("bill", "")
            if bill_id not in ctx.bills:
                return self._default_change(ctx, issue)
            return DeleteBill(bill_id), f"if bill {bill_id} is deleted"
        return self._default_change(ctx, issue)

    def _txn_date(self, ctx: _Context, issue: HygieneIssue) -> dt.date | None:
        item = ctx.bills.get(issue.qbo_id) if issue.entity_type == "bill" else ctx.invoices.get(issue.qbo_id)
        return item.txn_date if item is not None else None

    def _suggested_term(self, ctx: _Context, vendor_id: str) -> tuple[str, str] | None:
        terms = [t for t in ctx.snapshot.terms if t.active and t.due_days is not None]
        if not terms:
            return None
        used = Counter(v.term_qbo_id for v in ctx.snapshot.vendors if v.term_qbo_id and v.qbo_id != vendor_id)
        terms.sort(key=lambda t: (-used.get(t.qbo_id, 0), t.due_days != 30, t.due_days or 0, t.name))
        return terms[0].qbo_id, terms[0].name

    def _customer_open_invoices(self, ctx: _Context, payment_id: str) -> list[InvoiceSnap]:
        payment = ctx.payments.get(payment_id)
        if payment is None:
            return []
        home = ctx.currency
        invoices = [
            i
            for i in ctx.snapshot.invoices
            if i.is_open
            and i.customer_qbo_id == payment.customer_qbo_id
            and (i.currency or home) == (payment.currency or home)
        ]
        invoices.sort(
            key=lambda i: (
                effective_due_date(i, ctx.index),
                i.txn_date,
                int(i.qbo_id) if i.qbo_id.isdigit() else 0,
            )
        )
        return invoices

    def _suggested_invoice(self, ctx: _Context, payment_id: str) -> InvoiceSnap | None:
        invoices = self._customer_open_invoices(ctx, payment_id)
        payment = ctx.payments.get(payment_id)
        if not invoices or payment is None:
            return None
        exact = [i for i in invoices if i.balance_cents == payment.unapplied_cents]
        return exact[0] if exact else invoices[0]

    def _delete_default(self, ctx: _Context, issue: HygieneIssue) -> str | None:
        newer = ctx.bills.get(issue.qbo_id)
        if newer is not None and newer.is_open:
            return newer.qbo_id
        for other in issue.fix_params.get("other_bill_ids", "").split(","):
            bill = ctx.bills.get(other)
            if bill is not None and bill.is_open:
                return bill.qbo_id
        return newer.qbo_id if newer is not None else None

    def _delete_choices(self, ctx: _Context, issue: HygieneIssue, chosen: str | None) -> tuple[Option, ...]:
        default = chosen if chosen else self._delete_default(ctx, issue)
        ids = [issue.qbo_id, *[b for b in issue.fix_params.get("other_bill_ids", "").split(",") if b]]
        options = []
        for bill_id in ids:
            bill = ctx.bills.get(bill_id)
            if bill is None:
                continue
            state = "open" if bill.is_open else "paid"
            label = (
                f"{self._entity_label(ctx, 'bill', bill_id)} · "
                f"{_money(bill.total_cents, bill.currency or ctx.currency)} · {state}"
            )
            options.append(Option(bill_id, label, bill_id == default))
        return tuple(options)

    async def _fix_panel(self, ctx: _Context, issue: HygieneIssue, form: Mapping[str, str]) -> FixPanel:
        """The prefilled inline form for an issue's fix (values from `form` win when re-showing it)."""
        version = await self.data_orchestrator.entity_version(
            ctx.data.business.id, issue.entity_type, issue.qbo_id
        )
        token = form.get("sync_token") or (version.sync_token if version is not None else "")
        request_id = form.get("request_id") or uuid.uuid4().hex
        change, label = self._change_from_form(ctx, issue, form) if form else self._default_change(ctx, issue)
        impact = self._impact(ctx, change, label) if change is not None else None
        fix = issue.fix
        if fix == "set_due_date":
            suggested = parse_date(issue.fix_params.get("suggested_due_date"))
            chosen = parse_date(form.get("due_date")) or suggested
            note = (
                "Suggested: the date the forecast already assumes (its terms, else 30 days)."
                if suggested
                else ""
            )
            return FixPanel(
                fix,
                "Set the due date",
                token,
                request_id,
                date_value=chosen,
                date_label="Due date",
                date_name="due_date",
                date_min=self._txn_date(ctx, issue),
                note=note,
                submit_label="Set due date in QuickBooks",
                impact=impact,
            )
        if fix == "set_vendor_terms":
            suggested_term = self._suggested_term(ctx, issue.qbo_id)
            chosen_id = form.get("term") or (suggested_term[0] if suggested_term else "")
            terms = sorted(
                (t for t in ctx.snapshot.terms if t.active and t.due_days is not None),
                key=lambda t: (t.due_days or 0, t.name),
            )
            options = tuple(
                Option(t.qbo_id, f"{t.name} ({t.due_days} days)", t.qbo_id == chosen_id) for t in terms
            )
            return FixPanel(
                fix,
                "Set the vendor's terms",
                token,
                request_id,
                options=options,
                options_label="Terms",
                options_name="term",
                note=""
                if options
                else "This company has no terms with a number of days; add one in QuickBooks.",
                submit_label="Set terms in QuickBooks",
                impact=impact,
            )
        if fix == "pick_expense_account":
            catch_all = set(issue.fingerprint_fields.get("accounts", "").split(","))
            accounts = sorted(
                (
                    a
                    for a in ctx.snapshot.accounts
                    if a.active
                    and a.account_type in EXPENSE_ACCOUNT_TYPES
                    and a.qbo_id not in catch_all
                    and not a.name.lower().startswith("uncategori")
                    and a.name.lower() != "ask my accountant"
                ),
                key=lambda a: a.name.lower(),
            )
            chosen_account = form.get("account", "")
            options = tuple(Option(a.qbo_id, a.name, a.qbo_id == chosen_account) for a in accounts)
            return FixPanel(
                fix,
                "Pick the expense account",
                token,
                request_id,
                options=options,
                options_label="Expense account",
                options_name="account",
                submit_label="Recode in QuickBooks",
                impact=None,
                no_impact_note="Recoding changes spending by category, not the runway.",
            )
        if fix == "apply_payment":
            invoices = self._customer_open_invoices(ctx, issue.qbo_id)
            suggested_invoice = self._suggested_invoice(ctx, issue.qbo_id)
            chosen_invoice = form.get("invoice") or (suggested_invoice.qbo_id if suggested_invoice else "")
            options = tuple(
                Option(
                    i.qbo_id,
                    f"Invoice {i.qbo_id}{' No. ' + i.doc_number if i.doc_number else ''} · "
                    f"{_money(i.balance_cents, i.currency or ctx.currency)} open · due "
                    f"{_day(effective_due_date(i, ctx.index))}",
                    i.qbo_id == chosen_invoice,
                )
                for i in invoices
            )
            return FixPanel(
                fix,
                "Apply the payment to an open invoice",
                token,
                request_id,
                options=options,
                options_label="Invoice",
                options_name="invoice",
                note="" if options else "This customer has no open invoice in the same currency.",
                submit_label="Apply in QuickBooks",
                impact=impact,
            )
        if fix == "record_payment":
            banks = sorted(
                (a for a in ctx.snapshot.accounts if a.active and a.account_type == "Bank"),
                key=lambda a: a.name.lower(),
            )
            chosen_bank = form.get("bank") or (banks[0].qbo_id if banks else "")
            options = tuple(Option(a.qbo_id, a.name, a.qbo_id == chosen_bank) for a in banks)
            paid_on = parse_date(form.get("paid_on")) or ctx.data.as_of
            return FixPanel(
                fix,
                "Record the payment made outside QuickBooks",
                token,
                request_id,
                date_value=paid_on,
                date_label="Paid on",
                date_name="paid_on",
                options=options,
                options_label="Paid from",
                options_name="bank",
                note="Creates a bill payment in QuickBooks for the open balance; no money moves.",
                submit_label="Record payment in QuickBooks",
                impact=impact,
            )
        if fix == "resolve_duplicate":
            return FixPanel(
                fix,
                "Is this a duplicate?",
                token,
                request_id,
                note="Not a duplicate: dismiss it (remembered). A duplicate: delete one of the two bills "
                "in QuickBooks.",
                submit_label="Delete one in QuickBooks…",
                impact=impact,
            )
        if fix == "chase":
            invoice = ctx.invoices.get(issue.qbo_id)
            customer = ctx.index.customers.get(invoice.customer_qbo_id) if invoice else None
            who = customer.display_name if customer else "the customer"
            email = form.get("send_to") or await self.data_orchestrator.invoice_email(
                ctx.data.business.id, issue.qbo_id
            )
            return FixPanel(
                fix,
                "Chase the invoice",
                token,
                request_id,
                email_value=email or "",
                note=f"QuickBooks emails invoice {issue.qbo_id} to {who}; the issue is then snoozed for "
                f"{CHASE_SNOOZE_DAYS} days.",
                submit_label="Email invoice from QuickBooks",
                impact=impact,
            )
        if fix in ("resync", "sync_now"):
            return FixPanel(
                fix,
                "Sync with QuickBooks",
                token,
                request_id,
                writes_qbo=False,
                note="Reads the company again from QuickBooks; the tray refreshes when the sync finishes.",
                submit_label="Sync now",
            )
        return FixPanel(
            fix,
            "Open in QuickBooks",
            token,
            request_id,
            writes_qbo=False,
            note="This is fixed in QuickBooks itself; the issue clears at the next sync.",
        )

    async def _apply_fix(
        self,
        ctx: _Context,
        issue: HygieneIssue,
        row: IssueRow,
        form: Mapping[str, str],
        action: str,
        user: CurrentUser,
    ) -> FixOutcome | str:
        orch = self.data_orchestrator
        business_id = ctx.data.business.id
        token = form.get("sync_token", "").strip()
        fix = issue.fix
        if fix in ("resync", "sync_now"):
            await orch.request_sync(business_id, full=fix == "resync")
            return "Sync requested; the tray refreshes when it finishes."
        if fix == "open_in_qbo":
            raise _InputProblem("This issue is fixed in QuickBooks itself.", "fix")
        if fix == "chase":
            until = ctx.data.as_of + dt.timedelta(days=CHASE_SNOOZE_DAYS)
            send_to = form.get("send_to", "").strip()
            if not _EMAIL.match(send_to):
                raise _InputProblem("Enter the e-mail address to send the invoice to.", "fix")
            return await orch.chase_invoice(
                business_id,
                issue,
                send_to=send_to,
                until=until,
                user_id=user.id,
                summary=f"Invoice emailed from QuickBooks; snoozed until {_day(until)}.",
            )
        if fix == "record_payment":
            bank = form.get("bank", "")
            paid_on = parse_date(form.get("paid_on"))
            request_id = form.get("request_id", "")
            if bank not in ctx.index.accounts or ctx.index.accounts[bank].account_type != "Bank":
                raise _InputProblem("Choose the bank account the bill was paid from.", "fix")
            if paid_on is None:
                raise _InputProblem("Enter the date the bill was paid (YYYY-MM-DD).", "fix")
            if not _REQUEST_ID.match(request_id):
                raise _InputProblem("The form expired; open the fix again.", "fix")
            return await orch.record_bill_payment(
                business_id,
                issue,
                bank_account_qbo_id=bank,
                paid_on=paid_on,
                request_id=request_id,
                user_id=user.id,
                summary=f"Payment of {row.amount_label} recorded in QuickBooks from "
                f"{ctx.index.accounts[bank].name}, dated {_day(paid_on)}.",
            )
        if not token.isdigit():
            raise _InputProblem(
                "The form expired; open the fix again.", "delete" if action == "delete" else "fix"
            )
        if fix == "set_due_date":
            due = parse_date(form.get("due_date"))
            if due is None:
                raise _InputProblem("Enter the due date as a date (YYYY-MM-DD).", "fix")
            item = (
                ctx.bills.get(issue.qbo_id) if issue.entity_type == "bill" else ctx.invoices.get(issue.qbo_id)
            )
            if item is not None and due < item.txn_date:
                raise _InputProblem(
                    f"The due date cannot be before the {issue.entity_type}'s date, {_day(item.txn_date)}.",
                    "fix",
                )
            return await orch.set_due_date(
                business_id,
                issue,
                due_date=due,
                sync_token=token,
                user_id=user.id,
                summary=f"Due date set to {_day(due)} in QuickBooks.",
            )
        if fix == "set_vendor_terms":
            term = ctx.index.terms.get(form.get("term", ""))
            if term is None or term.due_days is None:
                raise _InputProblem("Choose the terms to set.", "fix")
            return await orch.set_vendor_terms(
                business_id,
                issue,
                term_qbo_id=term.qbo_id,
                sync_token=token,
                user_id=user.id,
                summary=f"Vendor terms set to {term.name} in QuickBooks.",
            )
        if fix == "pick_expense_account":
            account = ctx.index.accounts.get(form.get("account", ""))
            if account is None or account.account_type not in EXPENSE_ACCOUNT_TYPES:
                raise _InputProblem("Choose an expense account.", "fix")
            return await orch.set_expense_account(
                business_id,
                issue,
                account_qbo_id=account.qbo_id,
                account_name=account.name,
                catch_all_accounts=[a for a in issue.fingerprint_fields.get("accounts", "").split(",") if a],
                sync_token=token,
                user_id=user.id,
                summary=f"Recoded to {account.name} in QuickBooks.",
            )
        if fix == "apply_payment":
            invoice_id = form.get("invoice", "")
            if invoice_id not in {i.qbo_id for i in self._customer_open_invoices(ctx, issue.qbo_id)}:
                raise _InputProblem("Choose one of the customer's open invoices.", "fix")
            return await orch.apply_payment(
                business_id,
                issue,
                invoice_qbo_id=invoice_id,
                sync_token=token,
                user_id=user.id,
                summary=f"Payment applied to invoice {invoice_id} in QuickBooks.",
            )
        if fix == "resolve_duplicate":
            if action != "delete":
                raise _InputProblem("Confirm which bill to delete.", "delete")
            bill_id = form.get("bill", "")
            allowed = {issue.qbo_id, *[b for b in issue.fix_params.get("other_bill_ids", "").split(",") if b]}
            if bill_id not in allowed:
                raise _InputProblem("Choose which of the two bills to delete.", "delete")
            bill_token = form.get(f"token_{bill_id}", "").strip()
            if not bill_token.isdigit():
                raise _InputProblem("The form expired; open it again.", "delete")
            return await orch.delete_bill(
                business_id,
                issue,
                bill_qbo_id=bill_id,
                sync_token=bill_token,
                user_id=user.id,
                summary=f"Bill {bill_id} deleted in QuickBooks (this cannot be undone from Runway).",
            )
        raise _InputProblem("This issue has no fix Runway can apply.", "fix")


class FixUndoFailedError(Exception):
    """An undo could not be written to QuickBooks (changed since, or refused)."""


class _InputProblem(ValueError):
    def __init__(self, message: str, panel: str) -> None:
        super().__init__(message)
        self.panel = panel


_VIEWER_MESSAGE = (
    "Viewers can read the Hygiene Tray but not change it. Ask your firm's admin for bookkeeper access."
)


def _conflict_view(conflict: HygieneConflictError) -> ConflictView:
    current = conflict.current
    wanted = [
        ("DueDate", "Due date"),
        ("TxnDate", "Date"),
        ("TotalAmt", "Total"),
        ("Balance", "Balance"),
        ("UnappliedAmt", "Unapplied"),
        ("DocNumber", "Number"),
        ("PrivateNote", "Memo"),
    ]
    fields: list[tuple[str, str]] = [
        (label, str(current[name])) for name, label in wanted if current.get(name) is not None
    ]
    term = current.get("TermRef") or current.get("SalesTermRef")
    if isinstance(term, dict):
        fields.append(("Terms", str(term.get("name") or term.get("value"))))
    lines = current.get("Line")
    if isinstance(lines, list):
        accounts = sorted(
            {
                str((line.get("AccountBasedExpenseLineDetail") or {}).get("AccountRef", {}).get("name", ""))
                for line in lines
                if isinstance(line, dict) and line.get("AccountBasedExpenseLineDetail")
            }
            - {""}
        )
        if accounts:
            fields.append(("Accounts", ", ".join(accounts)))
    updated = (current.get("MetaData") or {}).get("LastUpdatedTime")
    if updated:
        fields.append(("Changed in QuickBooks", str(updated)))
    return ConflictView(conflict.entity, conflict.qbo_id, tuple(fields), str(current.get("SyncToken", "")))


def _impact_json(impact: ImpactView) -> dict[str, Any]:
    return {
        "change_label": impact.change_label,
        "delta_days": impact.delta_days,
        "direction": impact.direction,
        "new_cash_zero_date": impact.new_cash_zero_date.isoformat() if impact.new_cash_zero_date else None,
        "new_lowest_cash_cents": impact.new_lowest_cash_cents,
        "delta_lowest_cash_cents": impact.delta_lowest_cash_cents,
        "words": impact.words,
        "currency": impact.currency,
    }


def _impact_from_json(data: Mapping[str, Any]) -> ImpactView:
    delta = data.get("delta_days")
    return ImpactView(
        change_label=str(data.get("change_label", "")),
        delta_days=int(delta) if delta is not None else None,
        direction=str(data.get("direction", "")),
        new_cash_zero_date=parse_date(data.get("new_cash_zero_date")),
        new_lowest_cash_cents=int(data.get("new_lowest_cash_cents") or 0),
        delta_lowest_cash_cents=int(data.get("delta_lowest_cash_cents") or 0),
        words=str(data.get("words", "")),
        currency=str(data.get("currency", "USD")),
    )


def _cell(text: str) -> str:
    """Spreadsheet-safe text: a leading =, +, - or @ would be read as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
