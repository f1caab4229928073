"""Data orchestrator (shared): what every runway screen starts from — a business's snapshot, the dates its
decisions set and its open hygiene issues — for the dashboard, the summary rows and the digest alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from domains.core import repository as core
from domains.core.db import Database, utcnow
from domains.core.money import CurrencyMismatchError
from domains.decisions import repository as decisions_repo
from domains.decisions.models import DONE as DECISION_DONE
from runway.services.calculators import BusinessSnapshot, HygieneIssue, PlannedDate
from runway.services.data_orchestrators.business_snapshot import BusinessNotFoundError, load_business_snapshot
from runway.services.data_orchestrators.decision_console_data_orchestrator import (
    DecisionConsoleDataOrchestrator,
    planned_dates_of,
)
from runway.services.data_orchestrators.hygiene_tray_data_orchestrator import (
    HygieneTrayDataOrchestrator,
    local_date,
)

__all__ = [
    "BusinessNotFoundError",
    "DecisionPlan",
    "RunwayInputs",
    "decision_plan_for",
    "issue_key",
    "load_runway_inputs",
    "local_today",
    "monday_of",
    "open_issues_for",
    "party_names",
]


@dataclass(frozen=True, slots=True)
class RunwayInputs:
    """One business's data at one moment: the calculators' whole input for its screens."""

    business_id: int
    name: str
    firm_id: int | None
    timezone: str
    snapshot: BusinessSnapshot
    as_of: dt.date
    now: dt.datetime
    plan: DecisionPlan
    open_issues: tuple[HygieneIssue, ...]

    @property
    def currency(self) -> str:
        return self.snapshot.home_currency


def local_today(timezone: str, now: dt.datetime) -> dt.date:
    """The business's calendar date at `now` (QBO dates carry no zone; "today" is the company's)."""
    return local_date(now, timezone)


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def issue_key(issue: HygieneIssue) -> str:
    """An issue's identity across refreshes: one issue per (rule, entity)."""
    return f"{issue.rule}|{issue.entity_type}|{issue.qbo_id}"


@dataclass(frozen=True, slots=True)
class DecisionPlan:
    """What the business's decisions do to its screens.

    Attributes:
        planned_dates: Pay dates set for bills (schedule, delay, pay now).
        chased_invoice_ids: Invoices being chased.
        settled: Queue items that have a decision this week, so they no longer wait for one.
        critical_vendor_ids: Vendors the firm flagged critical (they lead the queue).
    """

    planned_dates: tuple[PlannedDate, ...] = ()
    chased_invoice_ids: tuple[str, ...] = ()
    settled: frozenset[tuple[str, str]] = frozenset()
    critical_vendor_ids: frozenset[str] = frozenset()


async def decision_plan_for(db: Database, business_id: int, week_start: dt.date) -> DecisionPlan:
    """The Decision Console's current decisions as the forecast and the "decisions waiting" count see
    them: like the console, an item is waiting unless it has a current decision, except one finalized
    before this week (it may need a new decision now)."""
    decisions = await DecisionConsoleDataOrchestrator(db).current_decisions(business_id)
    planned, chased = planned_dates_of(decisions)
    settled = frozenset(
        (decision.entity_type, decision.qbo_id)
        for decision in decisions
        if decision.status != DECISION_DONE
        or (decision.finalized_on is not None and decision.finalized_on >= week_start)
    )
    async with db.read() as session:
        critical = frozenset(await decisions_repo.critical_vendor_ids(session, business_id))
    return DecisionPlan(tuple(planned), tuple(chased), settled, critical)


async def open_issues_for(
    db: Database, business_id: int, as_of: dt.date, now: dt.datetime, *, today: bool
) -> tuple[HygieneIssue, ...]:
    """The business's open hygiene issues as the Hygiene Tray keeps them (dismissed and snoozed ones
    left out).

    `today`: `as_of` is the business's own today. Then the tray's register is brought up to date with
    the same detection (a sync just finished, a new day), as the tray does when it is shown: after a sync
    the summary refresh and the next screen would otherwise each work out every rule over the books."""
    tray = HygieneTrayDataOrchestrator(db)
    try:
        if today:
            return tuple((await tray.tray_data(business_id, now=now)).open)
        return tuple(await tray.open_issues(business_id, as_of, now=now))
    except CurrencyMismatchError:
        # The forecast reports the unconvertible amount itself; the issue list cannot be built without it.
        return ()


async def load_runway_inputs(
    db: Database, business_id: int, *, as_of: dt.date | None = None, now: dt.datetime | None = None
) -> RunwayInputs:
    """Everything the calculators need for one business; `as_of` defaults to the business's today."""
    now = now or utcnow()
    async with db.read() as session:
        snapshot = await load_business_snapshot(session, business_id)
        business = await core.get_business(session, business_id)
        if business is None:
            raise BusinessNotFoundError(business_id)
        name, firm_id, timezone = business.name, business.firm_id, business.timezone
    day = as_of or local_today(timezone, now)
    plan = await decision_plan_for(db, business_id, monday_of(day))
    issues = await open_issues_for(db, business_id, day, now, today=as_of is None)
    return RunwayInputs(business_id, name, firm_id, timezone, snapshot, day, now, plan, issues)


def party_names(snapshot: BusinessSnapshot) -> Mapping[tuple[str, str], str]:
    """Display names of vendors (`("bill", id)`) and customers (`("invoice", id)`)."""
    names: dict[tuple[str, str], str] = {}
    for vendor in snapshot.vendors:
        names[("bill", vendor.qbo_id)] = vendor.display_name
    for customer in snapshot.customers:
        names[("invoice", customer.qbo_id)] = customer.display_name
    return names
