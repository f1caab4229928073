"""Data orchestrator: the Hygiene Tray — issues on the synced books minus what people triaged, and fixes.

A business's tray (`tray_data`) runs `DataQualityCalculator` over its current snapshot and removes what the
triage tables hide (a dismissal whose fingerprint still matches, a snooze whose date has not come, a fix
waiting for the sync that confirms it). The register of issues seen is brought up to date whenever a newer
sync run has finished than the one it last saw, a fix changed our copy of the books, the business's date
changed or an hour has passed, so issues cleared in QuickBooks are recorded as resolved by themselves. The
register keeps each open issue as detected, so the firm tray and triage actions read it
(`register_views`) instead of recomputing every client's books. Fixes go to QuickBooks through
SmartSyncService only, each with the SyncToken the person saw; the fix log keeps the fields before and
after so a fix can be undone where QuickBooks allows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy.exc import IntegrityError

from domains.ap.models import Bill, BillPayment, Vendor
from domains.ar.models import Customer, Invoice, Payment
from domains.bank.models import Purchase
from domains.core import foreground
from domains.core import repository as core
from domains.core.db import Database, RowReader, RowWriter, utcnow
from domains.core.locks import BusinessLocks
from domains.hygiene import repository as repo
from domains.hygiene.repository import EvaluationState, IssueKey, RegisterRow, TriageState
from domains.qbo.errors import QboError
from domains.qbo.smart_sync import ConflictError, SmartSyncService, WriteResult
from domains.qbo.tokens import NotConnectedError, ReconnectNeededError
from domains.synced import SyncedEntity, get_entity, json_safe
from runway.services.calculators.arithmetic import qbo_id_key
from runway.services.calculators.data_quality_calculator import (
    SCORE_SEVERITIES,
    SEVERITY_RANK,
    DataQualityCalculator,
    HygieneIssue,
)
from runway.services.calculators.snapshots import BusinessSnapshot
from runway.services.data_orchestrators.business_snapshot import load_business_snapshot

# Entity type of an issue -> (QBO entity name, synced model).
ENTITY_MODELS: Mapping[str, tuple[str, type[SyncedEntity]]] = {
    "bill": ("Bill", Bill),
    "invoice": ("Invoice", Invoice),
    "vendor": ("Vendor", Vendor),
    "payment": ("Payment", Payment),
    "purchase": ("Purchase", Purchase),
}
log = structlog.get_logger("runway.hygiene")
CHASE_SNOOZE_DAYS = 14
# The register is worked out again at least this often (the sync rule depends on the clock).
REGISTER_MAX_AGE = dt.timedelta(hours=1)
# What a high-severity issue blocks in the decision queue: decisions on the item itself.
BLOCKED_TYPES = ("bill", "invoice")
RECORDED_PAYMENT_NOTE = "Recorded in Runway: paid outside QuickBooks"


class HygieneIssueNotFoundError(LookupError):
    """The issue is not detected for this business (fixed meanwhile, or never existed)."""


class HygieneConflictError(Exception):
    """QuickBooks refused a write because the object changed since it was shown; `current` is QBO's now."""

    def __init__(self, entity: str, qbo_id: str, current: dict[str, Any]) -> None:
        super().__init__(f"{entity} {qbo_id} was changed in QuickBooks by someone else")
        self.entity = entity
        self.qbo_id = qbo_id
        self.current = current


class HygieneWriteError(Exception):
    """A fix could not be written to QuickBooks (refused, unreachable, not connected); nothing changed."""


class FixNotRevertibleError(Exception):
    """The fix cannot be undone in QuickBooks (or was undone already)."""


@dataclass(frozen=True, slots=True)
class BusinessFacts:
    id: int
    name: str
    timezone: str
    home_currency: str
    realm_id: str | None
    firm_id: int | None


@dataclass(frozen=True, slots=True)
class TrayData:
    """One business's tray on ``as_of``: detected issues, the open ones, and why the others are hidden.

    Attributes:
        hidden: Key -> ``dismissed`` | ``snoozed`` | ``fixed`` for detected issues that are not open.
        cleared_this_week: Issues resolved, dismissed or snoozed since Monday that are not open now.
        score: The hygiene score over the open issues (PRODUCT §4).
        marker: What the tray's poll compares: the newest succeeded sync run and the triage version.
    """

    business: BusinessFacts
    as_of: dt.date
    snapshot: BusinessSnapshot
    detected: tuple[HygieneIssue, ...]
    open: tuple[HygieneIssue, ...]
    hidden: Mapping[IssueKey, str]
    triage: TriageState
    cleared_this_week: int
    score: int
    marker: str


@dataclass(frozen=True, slots=True)
class RegisterIssue:
    """An issue as the register lists it, enough to filter, sort and count (`register_details`: the rest)."""

    entry_id: int
    rule: str
    entity_type: str
    qbo_id: str
    severity: str
    amount_cents: int
    fix: str

    @property
    def key(self) -> IssueKey:
        return (self.rule, self.entity_type, self.qbo_id)

    def sort_key(self) -> tuple[int, int, tuple[int, int, str], str, str]:
        """The tray order, as `HygieneIssue.sort_key`."""
        return (
            SEVERITY_RANK[self.severity],
            -self.amount_cents,
            qbo_id_key(self.qbo_id),
            self.rule,
            self.entity_type,
        )


@dataclass(frozen=True, slots=True)
class RegisterDetail:
    """One register entry in full: the issue as last detected and what its row shows, if stored yet."""

    issue: HygieneIssue
    display: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One issue of a business as the register holds it now (None when it has no open entry)."""

    business: BusinessFacts
    as_of: dt.date
    issue: RegisterIssue | None
    detail: RegisterDetail | None
    hidden: str | None
    # The register state it was read at (sync markers, version): a triage action that follows reports
    # its poll marker from it.
    state: EvaluationState
    # When asked for: the firm's clients' stored summaries and markers, read with the entry, so that an
    # action's firm counters need no read of their own (see `firm_states`).
    firm: tuple[FirmClientState, ...] | None = None


@dataclass(frozen=True, slots=True)
class FirmClientState:
    """One client of a firm as the firm tray adds it up: its stored summary and its poll marker."""

    business_id: int
    summary: repo.Summary | None
    marker: str


@dataclass(frozen=True, slots=True)
class RegisterSummary:
    """A business's header numbers worked out from its register, and its poll marker."""

    business: BusinessFacts
    as_of: dt.date
    summary: repo.Summary
    marker: str
    sync_active: bool


@dataclass(frozen=True, slots=True)
class RegisterView:
    """One business's tray read from the register: the issues detected at its last evaluation.

    Attributes:
        detected: Open register entries (tray order), including the ones a dismissal or snooze hides.
        open: The ones not hidden.
        unlabelled: How many of the detected ones have no stored display yet.
    """

    business: BusinessFacts
    as_of: dt.date
    detected: tuple[RegisterIssue, ...]
    open: tuple[RegisterIssue, ...]
    hidden: Mapping[IssueKey, str]
    cleared_this_week: int
    score: int
    marker: str
    sync_active: bool
    unlabelled: int = 0


@dataclass(frozen=True, slots=True)
class FixOutcome:
    fix_id: int
    summary: str
    revertible: bool


@dataclass(frozen=True, slots=True)
class EntityVersion:
    """The synced copy of one QBO object: its SyncToken and raw JSON, as a fix form shows them."""

    entity: str
    qbo_id: str
    sync_token: str
    raw: dict[str, Any] = field(hash=False)


def issue_key(issue: HygieneIssue) -> IssueKey:
    return (issue.rule, issue.entity_type, issue.qbo_id)


def local_date(moment: dt.datetime, timezone: str) -> dt.date:
    """The calendar date at `moment` where the business is (QBO dates carry no zone)."""
    try:
        return moment.astimezone(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(dt.UTC).date()


def week_start(as_of: dt.date, timezone: str) -> dt.datetime:
    """Midnight (business-local) of the Monday of `as_of`'s week, as an aware datetime."""
    monday = as_of - dt.timedelta(days=as_of.weekday())
    try:
        zone: dt.tzinfo = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return dt.datetime.combine(monday, dt.time(), tzinfo=zone)


def classify(
    detected: Iterable[HygieneIssue], triage: TriageState, as_of: dt.date
) -> tuple[tuple[HygieneIssue, ...], dict[IssueKey, str]]:
    """Split detected issues into open ones and hidden ones (with the reason), keeping their order."""
    open_issues: list[HygieneIssue] = []
    hidden: dict[IssueKey, str] = {}
    for issue in detected:
        key = issue_key(issue)
        dismissal = triage.dismissals.get(key)
        snooze = triage.snoozes.get(key)
        entry = triage.register.get(key)
        if dismissal is not None and dismissal.fingerprint == issue.fingerprint:
            hidden[key] = "dismissed"
        elif snooze is not None and snooze.until > as_of:
            hidden[key] = "snoozed"
        elif (
            entry is not None
            and entry.status == "resolved"
            and entry.resolution == "fixed"
            and entry.fingerprint == issue.fingerprint
            and (triage.last_succeeded_run_id or 0) <= (entry.fix_sync_run_id or 0)
        ):
            # Written to QuickBooks; our copy shows the change only after the next sync.
            hidden[key] = "fixed"
        else:
            open_issues.append(issue)
    return tuple(open_issues), hidden


def _cleared_since(
    triage: TriageState, since: dt.datetime, open_keys: set[IssueKey], hidden: Mapping[IssueKey, str]
) -> int:
    cleared: set[IssueKey] = set()
    for key, entry in triage.register.items():
        if entry.status == "resolved" and entry.resolved_at is not None and entry.resolved_at >= since:
            cleared.add(key)
    for key, dismissal in triage.dismissals.items():
        if dismissal.created_at >= since and hidden.get(key) == "dismissed":
            cleared.add(key)
    for key, snooze in triage.snoozes.items():
        if snooze.created_at >= since and hidden.get(key) == "snoozed":
            cleared.add(key)
    return len(cleared - open_keys)


def _open_balances(snapshot: BusinessSnapshot) -> dict[tuple[str, str], int]:
    """Open balance (home cents) of each open bill and invoice: what the hygiene score weighs."""
    home = snapshot.home_currency
    balances = {("bill", b.qbo_id): b.home_balance(home) for b in snapshot.bills if b.is_open}
    balances.update({("invoice", i.qbo_id): i.home_balance(home) for i in snapshot.invoices if i.is_open})
    return balances


@dataclass(frozen=True, slots=True)
class _EvaluationPlan:
    """What recording an evaluation writes to the register (`_record_evaluation`)."""

    new: list[tuple[IssueKey, dict[str, Any]]]
    reopened: list[tuple[IssueKey, HygieneIssue]]
    updates: list[tuple[int, dict[str, Any]]]
    gone: list[IssueKey]
    changed_dismissals: list[IssueKey]
    open_cents: int


def _evaluation_plan(
    snapshot: BusinessSnapshot,
    detected: tuple[HygieneIssue, ...],
    triage: repo.TriageState,
    hidden: Mapping[IssueKey, str],
) -> _EvaluationPlan:
    """The register's changes for the issues detected now against the triage state `triage`: new issues,
    resolved ones seen again (reopened unless a fix waits for its sync), open ones whose values changed,
    open ones no longer detected, and dismissals whose fields changed (the issue reopened)."""
    by_key = {issue_key(i): i for i in detected}
    balances = _open_balances(snapshot)
    new = [
        (key, _register_values(issue, balances))
        for key, issue in by_key.items()
        if key not in triage.register
    ]
    reopened: list[tuple[IssueKey, HygieneIssue]] = []
    updates: list[tuple[int, dict[str, Any]]] = []
    for key, issue in by_key.items():
        entry = triage.register.get(key)
        waiting_for_sync = hidden.get(key) == "fixed"
        if entry is not None and entry.status == "resolved" and not waiting_for_sync:
            reopened.append((key, issue))
            updates.append((entry.id, _register_values(issue, balances)))
        elif entry is not None and entry.status == "open":
            values = _register_values(issue, balances)
            if any(getattr(entry, name) != value for name, value in values.items()):
                updates.append((entry.id, values))
    gone = [k for k, e in triage.register.items() if e.status == "open" and k not in by_key]
    changed = [
        k for k, d in triage.dismissals.items() if k in by_key and by_key[k].fingerprint != d.fingerprint
    ]
    return _EvaluationPlan(new, reopened, updates, gone, changed, sum(balances.values()))


def _register_values(issue: HygieneIssue, balances: Mapping[tuple[str, str], int]) -> dict[str, Any]:
    return {
        "severity": issue.severity,
        "amount_cents": issue.amount_cents,
        "fingerprint": issue.fingerprint,
        "forecast_effect": issue.forecast_effect,
        "fix": issue.fix,
        "fix_params": dict(issue.fix_params),
        "fingerprint_fields": dict(issue.fingerprint_fields),
        "item_balance_cents": balances.get((issue.entity_type, issue.qbo_id), 0),
    }


def _facts(business: Any) -> BusinessFacts:
    return BusinessFacts(
        business.id,
        business.name,
        business.timezone,
        business.home_currency,
        business.realm_id,
        business.firm_id,
    )


def _current(state: EvaluationState, day: dt.date, now: dt.datetime) -> bool:
    """Whether the register holds what `tray_data` would detect now (same run, same day, within the hour)."""
    return (
        state.evaluated_run_id is not None
        and state.evaluated_run_id == (state.last_succeeded_run_id or 0)
        and state.evaluated_on == day
        and state.evaluated_at is not None
        and now - state.evaluated_at < REGISTER_MAX_AGE
        and state.open_cents is not None
    )


def _register_view(
    facts: BusinessFacts,
    day: dt.date,
    rows: list[RegisterRow],
    state: EvaluationState,
    since: dt.datetime,
    cleared_resolved: int,
) -> RegisterView:
    """Classify a business's open register entries as `classify` does the detected issues."""
    detected: list[RegisterIssue] = []
    open_issues: list[RegisterIssue] = []
    hidden: dict[IssueKey, str] = {}
    balances: dict[tuple[str, str], int] = {}
    cleared = cleared_resolved
    for row in rows:
        issue = RegisterIssue(
            row.id,
            row.rule,
            row.entity_type,
            row.qbo_id,
            row.severity,
            row.amount_cents,
            row.fix or "open_in_qbo",
        )
        detected.append(issue)
        if row.dismissed_fingerprint is not None and row.dismissed_fingerprint == row.fingerprint:
            hidden[issue.key] = "dismissed"
            cleared += 1 if row.dismissed_at is not None and row.dismissed_at >= since else 0
        elif row.snoozed_until is not None and row.snoozed_until > day:
            hidden[issue.key] = "snoozed"
            cleared += 1 if row.snoozed_at is not None and row.snoozed_at >= since else 0
        else:
            open_issues.append(issue)
            if issue.severity in SCORE_SEVERITIES and issue.entity_type in ("bill", "invoice"):
                balances[(issue.entity_type, issue.qbo_id)] = row.item_balance_cents or 0
    total = state.open_cents or 0
    score = 100 if total <= 0 else (100 * (total - sum(balances.values()))) // total
    detected.sort(key=RegisterIssue.sort_key)
    open_issues.sort(key=RegisterIssue.sort_key)
    return RegisterView(
        business=facts,
        as_of=day,
        detected=tuple(detected),
        open=tuple(open_issues),
        hidden=hidden,
        cleared_this_week=cleared,
        score=score,
        marker=f"{state.last_succeeded_run_id or 0}.{state.version}",
        sync_active=state.sync_active,
        unlabelled=sum(1 for row in rows if not row.has_display),
    )


def _detail(light: RegisterIssue, detail: repo.RegisterDetail) -> RegisterDetail:
    issue = HygieneIssue(
        rule=light.rule,
        entity_type=light.entity_type,  # type: ignore[arg-type]
        qbo_id=light.qbo_id,
        severity=light.severity,  # type: ignore[arg-type]
        amount_cents=light.amount_cents,
        forecast_effect=detail.forecast_effect or "",
        fix=light.fix,
        fix_params=dict(detail.fix_params or {}),
        fingerprint_fields=dict(detail.fingerprint_fields or {}),
    )
    return RegisterDetail(issue, detail.display)


def _cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


def _amount(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


async def _again_if_raced(write: Callable[[], Awaitable[None]], attempts: int = 3) -> None:
    """Run a write that re-reads what it changes once more when another app instance won a race to insert
    the same unique entry first (PostgreSQL; SQLite serialises writers)."""
    for attempt in range(attempts):
        try:
            await write()
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise


# Bringing a business's register up to date, one caller at a time in this process (see `tray_data`).
_REGISTER_TURNS = BusinessLocks()


class HygieneTrayDataOrchestrator:
    """Reads and writes the Hygiene Tray's data; holds no state between calls."""

    def __init__(
        self,
        db: Database,
        smart_sync: SmartSyncService | None = None,
        *,
        calculator: DataQualityCalculator | None = None,
    ) -> None:
        self.db = db
        self.smart_sync = smart_sync
        self.calculator = calculator or DataQualityCalculator()

    # --- public reads other screens use ------------------------------------------------------------

    async def open_issues(
        self, business_id: int, as_of: dt.date, *, now: dt.datetime | None = None
    ) -> list[HygieneIssue]:
        """Issues detected on the current snapshot minus dismissed and snoozed ones, in PRODUCT §4 order.

        Args:
            business_id: The business.
            as_of: Business-local date; a snooze until a date after it still hides its issue.
            now: Clock reading for the sync rule (the current time when omitted).
        """
        snapshot, triage = await self._load(business_id)
        detected = self.calculator.issues(snapshot, as_of, now=now or utcnow())
        return list(classify(detected, triage, as_of)[0])

    async def blocking_issues(
        self, business_id: int, *, now: dt.datetime | None = None
    ) -> tuple[RegisterIssue, ...]:
        """The open (not dismissed or snoozed) high-severity issues on bills and invoices, which block
        decisions on them, from the register (brought up to date first)."""
        now = now or utcnow()
        facts, days, states = await self._current_registers([business_id], now)
        if business_id not in facts:
            return ()
        async with self.db.read() as session:
            rows = await repo.register_rows(
                session, [business_id], severity="high", entity_types=BLOCKED_TYPES
            )
        return _register_view(facts[business_id], days[business_id], rows, states[business_id], now, 0).open

    async def hygiene_summary(self, business_id: int, as_of: dt.date) -> tuple[int, dict[str, int]]:
        """(hygiene score, open issues by severity) — the numbers the dashboard and client list show."""
        snapshot, triage = await self._load(business_id)
        detected = self.calculator.issues(snapshot, as_of, now=utcnow())
        open_issues = classify(detected, triage, as_of)[0]
        counts = {"high": 0, "medium": 0, "low": 0}
        for issue in open_issues:
            counts[issue.severity] = counts.get(issue.severity, 0) + 1
        return self.calculator.score(snapshot, open_issues).score, counts

    # --- the tray ------------------------------------------------------------------------------------

    async def _load(self, business_id: int) -> tuple[BusinessSnapshot, TriageState]:
        async with self.db.read() as session:
            snapshot = await load_business_snapshot(session, business_id)
            triage = await repo.load_triage_state(session, business_id, in_turns=True)
        return snapshot, triage

    async def _detect(
        self, snapshot: BusinessSnapshot, day: dt.date, now: dt.datetime
    ) -> tuple[HygieneIssue, ...]:
        """Every rule over the books. Outside a request (the refresh after a sync) in a thread: for a
        large company it is a tenth of a second of pure work, which on the event loop every request in
        that moment would wait for."""
        return await foreground.pure_work(self.calculator.issues, snapshot, day, now=now)

    async def business_facts(self, business_id: int) -> BusinessFacts:
        async with self.db.read() as session:
            business = await core.get_business(session, business_id)
        if business is None:
            raise HygieneIssueNotFoundError(f"no business {business_id}")
        return BusinessFacts(
            business.id,
            business.name,
            business.timezone,
            business.home_currency,
            business.realm_id,
            business.firm_id,
        )

    async def firm_business_ids(self, user_id: int, firm_id: int) -> list[int]:
        """The firm's clients this user reaches through the firm (by name); empty if not a member."""
        async with self.db.read() as session:
            return _firm_clients(await core.businesses_for_user(session, user_id), firm_id)

    async def tray_data(
        self, business_id: int, *, now: dt.datetime, as_of: dt.date | None = None
    ) -> TrayData:
        """The tray of one business; brings the register up to date when a newer sync has finished, and
        keeps the business's summary for the firm tray."""
        if as_of is not None:
            return await self._tray_data(business_id, now=now, as_of=as_of)
        # One bringing-up-to-date at a time: after a sync, the summary refresh and the first screens
        # shown all find the register behind; the later ones then find it current.
        async with _REGISTER_TURNS(business_id):
            return await self._tray_data(business_id, now=now, as_of=None)

    async def _tray_data(self, business_id: int, *, now: dt.datetime, as_of: dt.date | None) -> TrayData:
        facts = await self.business_facts(business_id)
        day = as_of or local_date(now, facts.timezone)
        snapshot, triage = await self._load(business_id)
        detected = await self._detect(snapshot, day, now)
        open_issues, hidden = classify(detected, triage, day)
        books_changed = triage.evaluated_run_id != (triage.last_succeeded_run_id or 0)
        # An explicit date is a look ahead (or back); only the real one keeps the register current.
        dated = as_of is None and (
            triage.evaluated_on != day
            or triage.evaluated_at is None
            or now - triage.evaluated_at >= REGISTER_MAX_AGE
        )
        if books_changed or dated:
            await _again_if_raced(
                lambda: self._record_evaluation(
                    business_id,
                    snapshot,
                    detected,
                    hidden,
                    day,
                    clear_displays=books_changed or triage.evaluated_on != day,
                    seen=triage,
                )
            )
            async with self.db.read() as session:
                triage = await repo.load_triage_state(session, business_id, in_turns=True)
            open_issues, hidden = classify(detected, triage, day)
        cleared = _cleared_since(
            triage, week_start(day, facts.timezone), {issue_key(i) for i in open_issues}, hidden
        )
        score = self.calculator.score(snapshot, open_issues).score
        summary = repo.Summary(
            open_high=sum(1 for i in open_issues if i.severity == "high"),
            open_medium=sum(1 for i in open_issues if i.severity == "medium"),
            open_low=sum(1 for i in open_issues if i.severity == "low"),
            cleared_week=cleared,
            score=score,
            as_of=day,
        )
        if summary != triage.summary:
            async with self.db.write() as session:
                await repo.store_summary(session, business_id, summary)
        return TrayData(
            business=facts,
            as_of=day,
            snapshot=snapshot,
            detected=detected,
            open=open_issues,
            hidden=hidden,
            triage=triage,
            cleared_this_week=cleared,
            score=score,
            marker=f"{triage.last_succeeded_run_id or 0}.{triage.version}",
        )

    async def stored_summaries(self, business_ids: Iterable[int]) -> dict[int, repo.Summary]:
        """The summaries `tray_data` last kept, for businesses the caller already scoped to a user."""
        async with self.db.read() as session:
            return await repo.stored_summaries(session, business_ids)

    async def poll_marker(self, business_id: int) -> str:
        """The marker `tray_data` would report now, in two indexed reads (the tray polls it)."""
        async with self.db.read() as session:
            succeeded, version = await repo.poll_marker(session, business_id)
        return f"{succeeded or 0}.{version}"

    async def _record_evaluation(
        self,
        business_id: int,
        snapshot: BusinessSnapshot,
        detected: tuple[HygieneIssue, ...],
        hidden: Mapping[IssueKey, str],
        as_of: dt.date,
        *,
        clear_displays: bool,
        seen: repo.TriageState | None = None,
    ) -> None:
        """Bring the register in line with the books: new issues, reopened ones, cleared ones, and every open
        entry as detected now (what the firm tray shows); stored row displays go when the books changed.

        `seen`: the triage state the caller read. Inside the write it is used as it is when its marker is
        still the stored one; otherwise (another request or app instance wrote meanwhile) the state is read
        again there. Reading a large register takes a tenth of a second or more, and every other write
        waits for this one; so does comparing it with what was detected (`_evaluation_plan`), which is
        why that is worked out before the write when it can be."""
        ahead = (
            None
            if seen is None
            else (seen, await foreground.pure_work(_evaluation_plan, snapshot, detected, seen, hidden))
        )
        async with self.db.write() as session:
            stored = await repo.current_triage_marker(session, business_id)
            if ahead is not None and stored == repo.triage_marker(ahead[0]):
                triage, plan = ahead
            else:
                triage = await repo.load_triage_state(session, business_id)
                plan = _evaluation_plan(snapshot, detected, triage, hidden)
            if clear_displays:
                await repo.clear_displays(session, business_id)
            await repo.add_seen_issues(session, business_id, plan.new)
            for key, issue in plan.reopened:
                await repo.see_issue(
                    session,
                    business_id,
                    key,
                    severity=issue.severity,
                    amount_cents=issue.amount_cents,
                    fingerprint=issue.fingerprint,
                    reopen=True,
                )
            await repo.update_seen_issues(session, business_id, plan.updates)
            await repo.resolve_gone(session, business_id, plan.gone)
            await repo.delete_dismissals(session, business_id, plan.changed_dismissals)
            await repo.delete_snoozes_ended(session, business_id, on_or_before=as_of)
            await repo.bump_state(
                session,
                business_id,
                evaluated_run_id=triage.last_succeeded_run_id or 0,
                increment=False,
                evaluated_on=as_of,
                open_cents=plan.open_cents,
            )

    async def register_views(self, business_ids: Iterable[int], *, now: dt.datetime) -> list[RegisterView]:
        """Several businesses' trays from the register, in the order given; a business whose register is
        behind (a sync finished, a fix, a new day, an hour) is brought up to date first."""
        ids = list(dict.fromkeys(business_ids))
        if not ids:
            return []
        facts, days, states = await self._current_registers(ids, now)
        async with self.db.read() as session:
            rows = await repo.register_rows(session, list(facts))
            since = {bid: week_start(days[bid], facts[bid].timezone) for bid in facts}
            resolved = await repo.resolved_since(session, list(facts), min(since.values(), default=now))
        by_business: dict[int, list[RegisterRow]] = {bid: [] for bid in facts}
        for row in rows:
            by_business[row.business_id].append(row)
        cleared_resolved = {bid: 0 for bid in facts}
        for business_id, at in resolved:
            if at >= since[business_id]:
                cleared_resolved[business_id] += 1
        views: list[RegisterView] = []
        summaries: dict[int, repo.Summary] = {}
        for business_id in ids:
            if business_id not in facts:
                continue
            state = states[business_id]
            view = _register_view(
                facts[business_id],
                days[business_id],
                by_business[business_id],
                state,
                since[business_id],
                cleared_resolved[business_id],
            )
            summary = repo.Summary(
                open_high=sum(1 for i in view.open if i.severity == "high"),
                open_medium=sum(1 for i in view.open if i.severity == "medium"),
                open_low=sum(1 for i in view.open if i.severity == "low"),
                cleared_week=view.cleared_this_week,
                score=view.score,
                as_of=view.as_of,
            )
            if summary != state.summary:
                summaries[business_id] = summary
            views.append(view)
        if summaries:
            async with self.db.write() as session:
                for business_id, summary in summaries.items():
                    await repo.store_summary(session, business_id, summary)
        return views

    async def _current_registers(
        self, ids: list[int], now: dt.datetime
    ) -> tuple[dict[int, BusinessFacts], dict[int, dt.date], dict[int, EvaluationState]]:
        """Facts, local dates and register states of businesses, each register brought up to date first."""
        async with self.db.read() as session:
            businesses = await core.business_rows(session, ids)
            states = await repo.evaluation_states(session, ids)
        facts = {b.id: _facts(b) for b in businesses}
        days = {bid: local_date(now, f.timezone) for bid, f in facts.items()}
        behind = [bid for bid in facts if not _current(states[bid], days[bid], now)]
        for business_id in behind:
            async with _REGISTER_TURNS(business_id):
                # Another caller may have brought it up to date while this one waited for its turn.
                async with self.db.read() as session:
                    state = (await repo.evaluation_states(session, [business_id]))[business_id]
                if not _current(state, days[business_id], now):
                    await self._tray_data(business_id, now=now, as_of=None)
        if behind:
            async with self.db.read() as session:
                states = await repo.evaluation_states(session, ids)
        return facts, days, states

    async def register_entry(
        self, business_id: int, key: IssueKey, *, now: dt.datetime, firm_of: tuple[int, int] | None = None
    ) -> RegisterEntry:
        """One issue from the business's register (brought up to date first), with its detail and display:
        one read when the register is current, as it is between syncs. `firm_of` (user id, firm id): also
        the states of the firm's clients that user reaches through the firm (see `firm_states`)."""
        async with self.db.quick_read() as session:
            found = await self._entry_read(session, business_id, key, now, firm_of)
        if found is None:  # the register is behind: bring it up to date, then read again
            await self._current_registers([business_id], now)
            async with self.db.quick_read() as session:
                found = await self._entry_read(session, business_id, key, now, firm_of, require_current=False)
        if found is None:
            raise HygieneIssueNotFoundError(f"no business {business_id}")
        return found

    async def _entry_read(
        self,
        session: RowReader,
        business_id: int,
        key: IssueKey,
        now: dt.datetime,
        firm_of: tuple[int, int] | None,
        *,
        require_current: bool = True,
    ) -> RegisterEntry | None:
        """`register_entry` in the caller's read; None when the business is unknown or (`require_current`)
        when its register is not current at `now`."""
        businesses = await core.business_rows(session, [business_id])
        if not businesses:
            return None
        fact = _facts(businesses[0])
        clients: list[int] = []
        if firm_of is not None:
            user_id, firm_id = firm_of
            clients = _firm_clients(await core.businesses_for_user(session, user_id), firm_id)
        states = await repo.evaluation_states(session, {business_id, *clients})
        state = states[business_id]
        day = local_date(now, fact.timezone)
        if require_current and not _current(state, day, now):
            return None
        firm = tuple(_firm_client(states[bid]) for bid in clients) if firm_of is not None else None
        row = await repo.register_row(session, business_id, key)
        details = await repo.register_details(session, business_id, [row.id]) if row else {}
        if row is None or row.id not in details:
            return RegisterEntry(fact, day, None, None, None, state, firm)
        view = _register_view(fact, day, [row], state, utcnow(), 0)
        light = view.detected[0]
        detail = _detail(light, details[row.id])
        return RegisterEntry(fact, day, light, detail, view.hidden.get(light.key), state, firm)

    async def register_summary(self, business_id: int, *, now: dt.datetime) -> RegisterSummary:
        """The business's header numbers from its register (two aggregate queries, no books read); the
        stored summary the firm tray adds up is kept in step."""
        facts, days, states = await self._current_registers([business_id], now)
        if business_id not in facts:
            raise HygieneIssueNotFoundError(f"no business {business_id}")
        fact, day, state = facts[business_id], days[business_id], states[business_id]
        async with self.db.read() as session:
            summary = await _summary_from_register(session, business_id, fact, day, state)
        if summary != state.summary:
            async with self.db.write() as session:
                await repo.store_summary(session, business_id, summary)
        return _register_summary(fact, day, summary, state)

    async def _share_before(
        self,
        session: Any,
        business_id: int,
        issue: HygieneIssue,
        current: RegisterEntry | None,
    ) -> _Share | None:
        """At the start of a triage transaction: the share of the summary of the object the issue is
        about (None when the caller read no register entry and wants no summary)."""
        if current is None:
            return None
        return await _entity_share(session, business_id, issue, current.business, current.as_of)

    async def _summarized(
        self,
        session: Any,
        business_id: int,
        current: RegisterEntry | None,
        before: _Share | None,
        issue: HygieneIssue,
        bumped: repo.TriageVersion,
    ) -> RegisterSummary | None:
        """After a triage change, in its transaction: the business's header numbers, stored for the firm
        tray (see `register_summary`); None when the caller read no register entry (it then asks
        afterwards). `bumped`: the state as this change's version bump left it.

        A triage action changes the entries of one object only, so when the stored summary was worked
        out at the version just before this change (and on the same day), it is adjusted by that object's
        share before and after; otherwise the register is added up again."""
        if current is None or before is None:
            return None
        day, fact = before.day, current.business
        stored = bumped.summary
        state = replace(
            current.state,
            version=bumped.version,
            open_cents=bumped.open_cents,
            summary=stored,
            summary_version=bumped.summary_version,
        )
        if (
            stored is not None
            and stored.as_of == day
            and stored.flagged_cents is not None
            and bumped.summary_version is not None
            and bumped.summary_version == bumped.version - 1
        ):
            after = await _entity_share(session, business_id, issue, fact, day)
            summary = _shifted(stored, before, after, bumped.open_cents or 0)
        else:
            summary = await _summary_from_register(session, business_id, fact, day, state)
        await repo.store_summary(session, business_id, summary, version=bumped.version)
        return _register_summary(fact, day, summary, state)

    async def register_details(
        self, business_id: int, issues: Iterable[RegisterIssue]
    ) -> dict[IssueKey, RegisterDetail]:
        """The full issue and stored display of some of a business's register entries (rows to show)."""
        wanted = {i.entry_id: i for i in issues}
        async with self.db.read() as session:
            details = await repo.register_details(session, business_id, wanted)
        return {wanted[entry_id].key: _detail(wanted[entry_id], d) for entry_id, d in details.items()}

    async def store_displays(
        self,
        business_id: int,
        displays: Mapping[IssueKey, dict[str, Any]],
        *,
        only_missing: Mapping[IssueKey, dict[str, Any]] | None = None,
    ) -> None:
        """Keep what rows show with their register entries: the next view reads them instead.
        `only_missing` ones are kept only where the entry holds none yet."""
        if not displays and not only_missing:
            return
        async with self.db.write() as session:
            await repo.store_displays(session, business_id, list(displays.items()))
            if only_missing:
                await repo.store_displays(session, business_id, list(only_missing.items()), only_missing=True)

    async def firm_states(self, user_id: int, firm_id: int) -> list[FirmClientState]:
        """The stored summary and poll marker of each of the firm's clients this user reaches through the
        firm (see `firm_business_ids`), in one read."""
        async with self.db.read() as session:
            ids = _firm_clients(await core.businesses_for_user(session, user_id), firm_id)
            states = await repo.evaluation_states(session, ids)
        return [_firm_client(states[bid]) for bid in ids]

    async def entity_version(self, business_id: int, entity_type: str, qbo_id: str) -> EntityVersion | None:
        """The synced copy of the object an issue is about (None for accounts/businesses or when gone)."""
        mapping = ENTITY_MODELS.get(entity_type)
        if mapping is None:
            return None
        entity, model = mapping
        async with self.db.read() as session:
            row = await get_entity(session, business_id, model, qbo_id)
        if row is None:
            return None
        return EntityVersion(entity, qbo_id, row.sync_token, dict(row.raw))

    # --- triage --------------------------------------------------------------------------------------

    async def dismiss(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        user_id: int | None,
        current: RegisterEntry | None = None,
    ) -> RegisterSummary | None:
        """Dismiss; with `current` (the issue's entry as `register_entry` just read it, the register up to
        date) also answers the header numbers after it, from the same transaction (see `_summarized`)."""
        key = issue_key(issue)

        async def change(session: RowWriter) -> _Audited:
            fingerprint = issue.fingerprint
            await repo.put_dismissal(session, business_id, key, fingerprint=fingerprint, user_id=user_id)
            await repo.delete_snooze(session, business_id, key)
            return "open", {"status": "dismissed", "fingerprint": issue.fingerprint}

        return await self._triage(business_id, issue, "hygiene.dismiss", change, user_id, current)

    async def snooze(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        until: dt.date,
        user_id: int | None,
        reason: str | None = None,
        current: RegisterEntry | None = None,
    ) -> RegisterSummary | None:
        """Snooze until a date; `current`: as for `dismiss`."""
        key = issue_key(issue)

        async def change(session: RowWriter) -> _Audited:
            await repo.put_snooze(session, business_id, key, until=until, reason=reason, user_id=user_id)
            return "open", {"status": "snoozed", "until": until.isoformat(), "reason": reason}

        return await self._triage(business_id, issue, "hygiene.snooze", change, user_id, current)

    async def reopen(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        user_id: int | None,
        current: RegisterEntry | None = None,
    ) -> RegisterSummary | None:
        """Undo a dismissal or a snooze; `current`: as for `dismiss`."""
        key = issue_key(issue)

        async def change(session: RowWriter) -> _Audited | None:
            dismissed = await repo.delete_dismissal(session, business_id, key)
            snoozed = await repo.delete_snooze(session, business_id, key)
            if not (dismissed or snoozed):
                return None  # nothing to undo: nothing to audit
            return "dismissed" if dismissed else "snoozed", {"status": "open"}

        return await self._triage(business_id, issue, "hygiene.reopen", change, user_id, current)

    async def _triage(
        self,
        business_id: int,
        issue: HygieneIssue,
        action: str,
        change: Callable[[RowWriter], Awaitable[_Audited | None]],
        user_id: int | None,
        current: RegisterEntry | None,
    ) -> RegisterSummary | None:
        """One triage action in one small write: the object's share of the summary before it, the change
        (which answers the issue's status before and what it became, or None when nothing changed), its
        audit entry, a new state version, and the summary after it (see `_summarized`)."""
        async with self.db.quick_write() as session:
            before = await self._share_before(session, business_id, issue, current)
            audited = await change(session)
            if audited is not None:
                status, after = audited
                await core.add_audit_entry(
                    session,
                    action=action,
                    business_id=business_id,
                    user_id=user_id,
                    entity_type=issue.entity_type,
                    entity_id=issue.qbo_id,
                    before={"rule": issue.rule, "status": status},
                    after={"rule": issue.rule, **after},
                )
            bumped = await repo.bump_triage_version(session, business_id)
            return await self._summarized(session, business_id, current, before, issue, bumped)

    async def request_sync(self, business_id: int, *, full: bool = False) -> None:
        """Queue a sync of the business (joining one already queued or running)."""
        await self._sync().request_sync(business_id, full=full, trigger="manual")

    # --- fixes written to QuickBooks ---------------------------------------------------------------

    def _sync(self) -> SmartSyncService:
        if self.smart_sync is None:
            raise HygieneWriteError("QuickBooks is not connected in this process; nothing was written.")
        return self.smart_sync

    async def _newest_run_id(self, business_id: int) -> int:
        async with self.db.read() as session:
            _succeeded, newest, _active = await repo.sync_markers(session, business_id)
        return newest or 0

    async def _write(self, call: Awaitable[WriteResult]) -> WriteResult:
        """Run one SmartSync write, turning its failures into the tray's own errors."""
        try:
            result = await call
        except ConflictError as exc:
            raise HygieneConflictError(exc.entity, exc.qbo_id, json_safe(exc.current)) from exc
        except QboError as exc:
            raise HygieneWriteError(f"QuickBooks refused the change: {exc.message or exc}") from exc
        except (NotConnectedError, ReconnectNeededError) as exc:
            raise HygieneWriteError(f"QuickBooks is not connected for this business: {exc}") from exc
        return result

    async def _record_fix(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        fix: str,
        result: WriteResult,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        summary: str,
        revertible: bool,
        user_id: int | None,
        resolves: bool = True,
        newest_run_id: int = 0,
    ) -> FixOutcome:
        key = issue_key(issue)
        async with self.db.write() as session:
            row = await repo.add_fix(
                session,
                business_id,
                key,
                fix=fix,
                qbo_entity=result.entity,
                qbo_target_id=result.qbo_id,
                before=json_safe(before) if before is not None else None,
                after=json_safe(after) if after is not None else None,
                summary=summary,
                request_id=result.request_id,
                revertible=revertible,
                user_id=user_id,
            )
            if resolves:
                await repo.resolve_issue(
                    session,
                    business_id,
                    key,
                    resolution="fixed",
                    severity=issue.severity,
                    amount_cents=issue.amount_cents,
                    fingerprint=issue.fingerprint,
                    user_id=user_id,
                    fix_sync_run_id=newest_run_id,
                )
            await repo.bump_state(session, business_id, reevaluate=True)
            return FixOutcome(row.id, summary, revertible)

    async def _update_fix(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        fix: str,
        entity: str,
        qbo_id: str,
        changes: dict[str, Any],
        before: dict[str, Any],
        sync_token: str,
        summary: str,
        user_id: int | None,
    ) -> FixOutcome:
        newest = await self._newest_run_id(business_id)
        result = await self._write(
            self._sync().update_entity(
                business_id,
                entity,
                qbo_id,
                changes,
                sync_token=sync_token,
                user_id=user_id,
                audit_action=f"hygiene.fix.{fix}",
            )
        )
        return await self._record_fix(
            business_id,
            issue,
            fix=fix,
            result=result,
            before=before,
            after=changes,
            summary=summary,
            revertible=True,
            user_id=user_id,
            newest_run_id=newest,
        )

    async def _require(self, business_id: int, entity_type: str, qbo_id: str) -> EntityVersion:
        found = await self.entity_version(business_id, entity_type, qbo_id)
        if found is None:
            raise HygieneIssueNotFoundError(f"{entity_type} {qbo_id} is not in the synced books")
        return found

    async def set_due_date(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        due_date: dt.date,
        sync_token: str,
        user_id: int | None,
        summary: str,
    ) -> FixOutcome:
        """Set a bill's or invoice's DueDate (sparse update with the SyncToken the person saw)."""
        current = await self._require(business_id, issue.entity_type, issue.qbo_id)
        return await self._update_fix(
            business_id,
            issue,
            fix="set_due_date",
            entity=current.entity,
            qbo_id=issue.qbo_id,
            changes={"DueDate": due_date.isoformat()},
            before={"DueDate": current.raw.get("DueDate")},
            sync_token=sync_token,
            summary=summary,
            user_id=user_id,
        )

    async def set_vendor_terms(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        term_qbo_id: str,
        sync_token: str,
        user_id: int | None,
        summary: str,
    ) -> FixOutcome:
        """Set a vendor's TermRef."""
        current = await self._require(business_id, "vendor", issue.qbo_id)
        return await self._update_fix(
            business_id,
            issue,
            fix="set_vendor_terms",
            entity="Vendor",
            qbo_id=issue.qbo_id,
            changes={"TermRef": {"value": term_qbo_id}},
            before={"TermRef": current.raw.get("TermRef")},
            sync_token=sync_token,
            summary=summary,
            user_id=user_id,
        )

    async def set_expense_account(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        account_qbo_id: str,
        account_name: str,
        catch_all_accounts: Iterable[str],
        sync_token: str,
        user_id: int | None,
        summary: str,
    ) -> FixOutcome:
        """Recode a bill's or purchase's catch-all expense lines to one account (the whole Line list is sent,
        as QBO replaces lines as a whole)."""
        current = await self._require(business_id, issue.entity_type, issue.qbo_id)
        targets = set(catch_all_accounts)
        old_lines = list(current.raw.get("Line") or [])
        new_lines: list[dict[str, Any]] = []
        touched = 0
        for line in old_lines:
            detail = line.get("AccountBasedExpenseLineDetail") if isinstance(line, dict) else None
            ref = detail.get("AccountRef") if isinstance(detail, dict) else None
            if (
                isinstance(detail, dict)
                and isinstance(ref, dict)
                and line.get("DetailType") == "AccountBasedExpenseLineDetail"
                and (str(ref.get("value", "")) in targets or str(ref.get("name", "")) in targets)
            ):
                detail = {**detail, "AccountRef": {"value": account_qbo_id, "name": account_name}}
                new_lines.append({**line, "AccountBasedExpenseLineDetail": detail})
                touched += 1
            else:
                new_lines.append(line)
        if not touched:
            raise HygieneWriteError("No line of this transaction is coded to a catch-all account any more.")
        return await self._update_fix(
            business_id,
            issue,
            fix="pick_expense_account",
            entity=current.entity,
            qbo_id=issue.qbo_id,
            changes={"Line": new_lines},
            before={"Line": old_lines},
            sync_token=sync_token,
            summary=summary,
            user_id=user_id,
        )

    async def apply_payment(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        invoice_qbo_id: str,
        sync_token: str,
        user_id: int | None,
        summary: str,
    ) -> FixOutcome:
        """Apply a payment's unapplied amount (up to the invoice's balance) to an open invoice."""
        payment = await self._require(business_id, "payment", issue.qbo_id)
        invoice = await self._require(business_id, "invoice", invoice_qbo_id)
        unapplied = Decimal(str(payment.raw.get("UnappliedAmt") or 0))
        balance = Decimal(str(invoice.raw.get("Balance") or 0))
        amount = min(unapplied, balance)
        if amount <= 0:
            raise HygieneWriteError("Nothing to apply: the payment is fully applied or the invoice is paid.")
        old_lines = list(payment.raw.get("Line") or [])
        new_line = {
            "Amount": _amount(_cents(amount)),
            "LinkedTxn": [{"TxnId": invoice_qbo_id, "TxnType": "Invoice"}],
        }
        outcome = await self._update_fix(
            business_id,
            issue,
            fix="apply_payment",
            entity="Payment",
            qbo_id=issue.qbo_id,
            changes={"Line": [*old_lines, new_line]},
            before={"Line": old_lines},
            sync_token=sync_token,
            summary=summary,
            user_id=user_id,
        )
        # The invoice's new balance reaches our copy with the next sync; ask for one now.
        await self._request_sync_quietly(business_id)
        return outcome

    async def record_bill_payment(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        bank_account_qbo_id: str,
        paid_on: dt.date,
        request_id: str,
        user_id: int | None,
        summary: str,
    ) -> FixOutcome:
        """Create the BillPayment for a bill paid outside QuickBooks (from a bank account, on a date).

        `request_id` comes from the form the person submitted, so submitting it twice replays the first
        answer instead of recording a second payment.
        """
        bill = await self._require(business_id, "bill", issue.qbo_id)
        balance = Decimal(str(bill.raw.get("Balance") or 0))
        if balance <= 0:
            raise HygieneWriteError("This bill is already paid in QuickBooks.")
        amount = _amount(_cents(balance))
        payload: dict[str, Any] = {
            "VendorRef": bill.raw.get("VendorRef"),
            "PayType": "Check",
            "CheckPayment": {"BankAccountRef": {"value": bank_account_qbo_id}},
            "TotalAmt": amount,
            "TxnDate": paid_on.isoformat(),
            "PrivateNote": RECORDED_PAYMENT_NOTE,
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": issue.qbo_id, "TxnType": "Bill"}]}],
        }
        if bill.raw.get("CurrencyRef"):
            payload["CurrencyRef"] = bill.raw["CurrencyRef"]
        newest = await self._newest_run_id(business_id)
        result = await self._write(
            self._sync().create_entity(
                business_id,
                "BillPayment",
                payload,
                request_id=request_id,
                user_id=user_id,
                audit_action="hygiene.fix.record_payment",
            )
        )
        outcome = await self._record_fix(
            business_id,
            issue,
            fix="record_payment",
            result=result,
            before={"Bill": issue.qbo_id, "Balance": bill.raw.get("Balance")},
            after={"BillPayment": result.qbo_id, **payload},
            summary=summary,
            revertible=True,
            user_id=user_id,
            newest_run_id=newest,
        )
        await self._request_sync_quietly(business_id)
        return outcome

    async def delete_bill(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        bill_qbo_id: str,
        sync_token: str,
        user_id: int | None,
        summary: str,
    ) -> FixOutcome:
        """Delete one bill of a duplicate pair in QuickBooks (cannot be undone through the API)."""
        bill = await self._require(business_id, "bill", bill_qbo_id)
        newest = await self._newest_run_id(business_id)
        result = await self._write(
            self._sync().delete_entity(
                business_id, "Bill", bill_qbo_id, sync_token=sync_token, user_id=user_id
            )
        )
        async with self.db.write() as session:
            # SmartSync's own entry names only Id and SyncToken; keep the whole bill that was deleted.
            await core.add_audit_entry(
                session,
                action="hygiene.fix.delete_duplicate",
                business_id=business_id,
                user_id=user_id,
                entity_type="Bill",
                entity_id=bill_qbo_id,
                before=json_safe(bill.raw),
                after={"status": "Deleted"},
                request_id=result.request_id,
            )
        return await self._record_fix(
            business_id,
            issue,
            fix="delete_duplicate",
            result=result,
            before=bill.raw,
            after={"status": "Deleted"},
            summary=summary,
            revertible=False,
            user_id=user_id,
            newest_run_id=newest,
        )

    async def invoice_email(self, business_id: int, invoice_qbo_id: str) -> str | None:
        """Where QBO would email an invoice: its BillEmail, else its customer's e-mail address."""
        async with self.db.read() as session:
            invoice = await get_entity(session, business_id, Invoice, invoice_qbo_id)
            if invoice is None:
                return None
            if invoice.bill_email:
                return invoice.bill_email
            customer = await get_entity(session, business_id, Customer, invoice.customer_qbo_id)
        return customer.email if customer is not None else None

    async def chase_invoice(
        self,
        business_id: int,
        issue: HygieneIssue,
        *,
        send_to: str | None,
        until: dt.date,
        user_id: int | None,
        summary: str,
    ) -> FixOutcome:
        """QBO emails the invoice to the customer; the issue is snoozed (chasing does not change its data)."""
        result = await self._write(
            self._sync().send_invoice(business_id, issue.qbo_id, user_id=user_id, send_to=send_to)
        )
        outcome = await self._record_fix(
            business_id,
            issue,
            fix="chase",
            result=result,
            before=None,
            after={"EmailStatus": result.obj.get("EmailStatus"), "BillEmail": result.obj.get("BillEmail")},
            summary=summary,
            revertible=False,
            user_id=user_id,
            resolves=False,
        )
        await self.snooze(business_id, issue, until=until, user_id=user_id, reason="chased")
        return outcome

    async def _request_sync_quietly(self, business_id: int) -> None:
        # The write itself succeeded; a sync that cannot be queued now runs at the next schedule.
        try:
            await self._sync().request_sync(business_id, trigger="manual")
        except Exception as exc:
            log.warning("could not queue a sync after a hygiene fix", business_id=business_id, error=str(exc))

    # --- undo ------------------------------------------------------------------------------------------

    async def get_fix(self, business_id: int, fix_id: int) -> dict[str, Any] | None:
        """A recorded fix of this business, as plain values."""
        async with self.db.read() as session:
            row = await repo.get_fix(session, business_id, fix_id)
        if row is None:
            return None
        return {
            "id": row.id,
            "rule": row.rule,
            "entity_type": row.entity_type,
            "qbo_id": row.qbo_id,
            "fix": row.fix,
            "qbo_entity": row.qbo_entity,
            "qbo_target_id": row.qbo_target_id,
            "before": row.before,
            "after": row.after,
            "summary": row.summary,
            "revertible": row.revertible,
            "reverted_at": row.reverted_at,
            "created_at": row.created_at,
        }

    async def revert_fix(self, business_id: int, fix_id: int, *, user_id: int | None) -> dict[str, Any]:
        """Undo a fix in QuickBooks where it can be undone: restore the old fields, or delete the payment
        that was recorded. Uses the SyncToken of our copy, so a change made since shows as a conflict."""
        fix = await self.get_fix(business_id, fix_id)
        if fix is None:
            raise HygieneIssueNotFoundError(f"no fix {fix_id}")
        if not fix["revertible"] or fix["reverted_at"] is not None:
            raise FixNotRevertibleError("This fix cannot be undone in QuickBooks, or was undone already.")
        entity, target = fix["qbo_entity"], fix["qbo_target_id"]
        models = {name: model for name, model in ENTITY_MODELS.values()}
        if fix["fix"] == "record_payment":
            payment = await self._local(business_id, BillPayment, target)
            if payment is None:
                raise FixNotRevertibleError("The recorded payment is no longer in QuickBooks.")
            await self._write(
                self._sync().delete_entity(
                    business_id, "BillPayment", target, sync_token=payment.sync_token, user_id=user_id
                )
            )
            await self._request_sync_quietly(business_id)
        else:
            row = await self._local(business_id, models[entity], target) if entity in models else None
            if row is None:
                raise FixNotRevertibleError(f"{entity} {target} is no longer in QuickBooks.")
            await self._write(
                self._sync().update_entity(
                    business_id,
                    entity,
                    target,
                    dict(fix["before"] or {}),
                    sync_token=row.sync_token,
                    user_id=user_id,
                    audit_action=f"hygiene.revert.{fix['fix']}",
                )
            )
        key: IssueKey = (fix["rule"], fix["entity_type"], fix["qbo_id"])
        async with self.db.write() as session:
            await repo.mark_fix_reverted(session, business_id, fix_id, user_id=user_id)
            await repo.reopen_issue(session, business_id, key)
            await repo.bump_state(session, business_id, reevaluate=True)
        return fix

    async def _local(self, business_id: int, model: type[SyncedEntity], qbo_id: str) -> SyncedEntity | None:
        async with self.db.read() as session:
            return await get_entity(session, business_id, model, qbo_id)


async def _summary_from_register(
    session: Any, business_id: int, fact: BusinessFacts, day: dt.date, state: EvaluationState
) -> repo.Summary:
    """The header numbers of a business from its register: two aggregate queries, no books read."""
    since = week_start(day, fact.timezone)
    counts, hidden_since, flagged = await repo.register_counts(
        session, business_id, as_of=day, since=since, flag_severities=SCORE_SEVERITIES
    )
    resolved = await repo.resolved_since(session, [business_id], since)
    return _summary_of(counts, hidden_since + len(resolved), flagged, state.open_cents or 0, day)


def _summary_of(
    counts: Mapping[str, int], cleared: int, flagged: int, total: int, day: dt.date
) -> repo.Summary:
    return repo.Summary(
        open_high=counts.get("high", 0),
        open_medium=counts.get("medium", 0),
        open_low=counts.get("low", 0),
        cleared_week=cleared,
        score=100 if total <= 0 else (100 * (total - flagged)) // total,
        as_of=day,
        flagged_cents=flagged,
    )


# What a triage change reports for its audit entry: the issue's status before it, and what it became.
_Audited = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Share:
    """What the register entries about one object add to a business's summary, on one day."""

    day: dt.date
    counts: Mapping[str, int]
    hidden_since: int
    flagged: int


async def _entity_share(
    session: Any, business_id: int, issue: HygieneIssue, fact: BusinessFacts, day: dt.date
) -> _Share:
    counts, hidden_since, flagged = await repo.register_counts(
        session,
        business_id,
        as_of=day,
        since=week_start(day, fact.timezone),
        flag_severities=SCORE_SEVERITIES,
        entity=(issue.entity_type, issue.qbo_id),
    )
    return _Share(day, counts, hidden_since, flagged)


def _shifted(stored: repo.Summary, before: _Share, after: _Share, total: int) -> repo.Summary:
    """`stored` with one object's share replaced: `before` taken out, `after` put in."""
    counts = {
        "high": stored.open_high,
        "medium": stored.open_medium,
        "low": stored.open_low,
    }
    for severity in counts:
        counts[severity] += after.counts.get(severity, 0) - before.counts.get(severity, 0)
    cleared = stored.cleared_week + after.hidden_since - before.hidden_since
    flagged = (stored.flagged_cents or 0) + after.flagged - before.flagged
    return _summary_of(counts, cleared, flagged, total, after.day)


def _register_summary(
    fact: BusinessFacts, day: dt.date, summary: repo.Summary, state: EvaluationState
) -> RegisterSummary:
    return RegisterSummary(fact, day, summary, _marker(state), state.sync_active)


def _marker(state: EvaluationState) -> str:
    """The poll marker of a business's tray: it changes with every finished sync and triage version."""
    return f"{state.last_succeeded_run_id or 0}.{state.version}"


def _firm_client(state: EvaluationState) -> FirmClientState:
    return FirmClientState(state.business_id, state.summary, _marker(state))


def _firm_clients(accesses: Iterable[core.BusinessAccess], firm_id: int) -> list[int]:
    return [a.business_id for a in accesses if a.firm_id == firm_id and a.via_firm]
