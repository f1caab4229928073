"""Data orchestrator: per-business summary rows — refreshed after every sync run and after decisions — with
the dashboard's figures and 13-week grid, and the weekly hygiene marks the digest compares against; read by
the client list, the runway dashboard and the firm digest.

Public API for other features: `BusinessSummaryDataOrchestrator(db).refresh_summary(business_id)` after
anything that changes a business's figures (a decision, a hygiene fix). The dashboard reads
`current(business_id)`: the stored row while its data key still matches the database, else a fresh one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import structlog

from domains.core import foreground
from domains.core import repository as core
from domains.core.db import Database, utcnow
from domains.core.money import CurrencyMismatchError
from domains.qbo import repository as qbo_repo
from domains.qbo.smart_sync import SyncOutcome
from domains.summaries import repository as summaries
from domains.summaries.models import BusinessSummary
from runway.services.calculators import AgingBuckets
from runway.services.calculators.data_quality_calculator import SYNC_STALE_AFTER
from runway.services.data_orchestrators.books_cache import refreshing
from runway.services.data_orchestrators.business_figures import BusinessFigures, ItemLine, compute_figures
from runway.services.data_orchestrators.runway_inputs import (
    BusinessNotFoundError,
    RunwayInputs,
    issue_key,
    load_runway_inputs,
    local_today,
    monday_of,
)

log = structlog.get_logger("runway.summaries")

TOP_DECISIONS = 5
AGING_BUCKETS = (
    "current_cents",
    "days_1_30_cents",
    "days_31_60_cents",
    "days_61_90_cents",
    "days_91_plus_cents",
    "unapplied_cents",
    "open_cents",
    "net_cents",
)
WEEK_COLUMNS = (
    "week",
    "start",
    "opening_cents",
    "receipts_invoices_cents",
    "receipts_baseline_cents",
    "disbursements_bills_cents",
    "disbursements_baseline_cents",
    "net_change_cents",
    "ending_cents",
    "below_minimum",
)


@dataclass(frozen=True, slots=True)
class AgingRecord:
    """One side's aging buckets (home-currency cents), as the aging calculator gave them."""

    current_cents: int
    days_1_30_cents: int
    days_31_60_cents: int
    days_61_90_cents: int
    days_91_plus_cents: int
    unapplied_cents: int
    open_cents: int
    net_cents: int


@dataclass(frozen=True, slots=True)
class WeekRecord:
    """One week of the stored 13-week grid (the report's columns and the minimum-cash flag)."""

    week: int
    start: dt.date
    opening_cents: int
    receipts_invoices_cents: int
    receipts_baseline_cents: int
    disbursements_bills_cents: int
    disbursements_baseline_cents: int
    net_change_cents: int
    ending_cents: int
    below_minimum: bool

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=6)


@dataclass(frozen=True, slots=True)
class SummaryRecord:
    """A business's stored summary. Figures are None when there is no synced data or they failed."""

    business_id: int
    as_of: dt.date
    computed_at: dt.datetime
    currency: str
    status: str
    cash_now_cents: int | None
    cash_net_of_cards_cents: int | None
    runway_days: int | None
    runway_weeks: str | None
    cash_zero_date: dt.date | None
    not_burning: bool
    lowest_cash_cents: int | None
    lowest_cash_week: int | None
    lowest_cash_week_start: dt.date | None
    bills_due_count: int
    bills_due_cents: int
    overdue_invoices_count: int
    overdue_invoices_cents: int
    hygiene_score: int | None
    issues_high: int
    issues_medium: int
    issues_low: int
    decisions_waiting: int
    top_decisions: tuple[ItemLine, ...]
    last_sync_at: dt.datetime | None
    error: str | None
    data_key: str | None = None
    snapshot_at: dt.datetime | None = None
    has_bank_account: bool = False
    card_balance_cents: int | None = None
    lowest_daily_cents: int | None = None
    lowest_daily_date: dt.date | None = None
    net_burn_4w_cents: int | None = None
    net_burn_13w_cents: int | None = None
    ap: AgingRecord | None = None
    ar: AgingRecord | None = None
    grid: tuple[WeekRecord, ...] = ()

    @property
    def has_figures(self) -> bool:
        return self.cash_now_cents is not None

    @classmethod
    def of(cls, row: BusinessSummary, weeks: Sequence[Any] = ()) -> SummaryRecord:
        """A stored row and its grid weeks (`SummaryWeek` rows, for the dashboard)."""
        return cls._build(row.business_id, row.computed_at, lambda name: getattr(row, name), weeks)

    @classmethod
    def from_fields(
        cls, business_id: int, fields: dict[str, Any], weeks: Sequence[dict[str, Any]]
    ) -> SummaryRecord:
        """Exactly what `of` would give after storing `fields` and `weeks` (for views that are not stored)."""
        stored = [WeekRecord(**w) for w in weeks]
        return cls._build(business_id, fields["computed_at"], fields.__getitem__, stored)

    @classmethod
    def _build(
        cls, business_id: int, computed_at: dt.datetime, get: Any, weeks: Sequence[Any]
    ) -> SummaryRecord:
        return cls(
            business_id=business_id,
            as_of=get("as_of"),
            computed_at=computed_at,
            currency=get("currency"),
            status=get("status"),
            cash_now_cents=get("cash_now_cents"),
            cash_net_of_cards_cents=get("cash_net_of_cards_cents"),
            runway_days=get("runway_days"),
            runway_weeks=get("runway_weeks"),
            cash_zero_date=get("cash_zero_date"),
            not_burning=get("not_burning"),
            lowest_cash_cents=get("lowest_cash_cents"),
            lowest_cash_week=get("lowest_cash_week"),
            lowest_cash_week_start=get("lowest_cash_week_start"),
            bills_due_count=get("bills_due_count"),
            bills_due_cents=get("bills_due_cents"),
            overdue_invoices_count=get("overdue_invoices_count"),
            overdue_invoices_cents=get("overdue_invoices_cents"),
            hygiene_score=get("hygiene_score"),
            issues_high=get("issues_high"),
            issues_medium=get("issues_medium"),
            issues_low=get("issues_low"),
            decisions_waiting=get("decisions_waiting"),
            top_decisions=tuple(ItemLine.from_json(item) for item in get("top_decisions") or ()),
            last_sync_at=get("last_sync_at"),
            error=get("error"),
            data_key=get("data_key"),
            snapshot_at=get("snapshot_at"),
            has_bank_account=bool(get("has_bank_account")),
            card_balance_cents=get("card_balance_cents"),
            lowest_daily_cents=get("lowest_daily_cents"),
            lowest_daily_date=get("lowest_daily_date"),
            net_burn_4w_cents=get("net_burn_4w_cents"),
            net_burn_13w_cents=get("net_burn_13w_cents"),
            ap=_aging_record(get, "ap"),
            ar=_aging_record(get, "ar"),
            grid=tuple(WeekRecord(*(getattr(week, name) for name in WEEK_COLUMNS)) for week in weeks),
        )


def _aging_record(get: Any, side: str) -> AgingRecord | None:
    values = [get(f"{side}_{bucket}") for bucket in AGING_BUCKETS]
    if any(value is None for value in values):
        return None
    return AgingRecord(*values)


def _aging_fields(side: str, buckets: AgingBuckets | None) -> dict[str, Any]:
    return {
        f"{side}_{bucket}": None if buckets is None else getattr(buckets, bucket) for bucket in AGING_BUCKETS
    }


def week_fields(figures: BusinessFigures) -> list[dict[str, Any]]:
    """The stored grid: one row per forecast week."""
    return [{name: getattr(week, name) for name in WEEK_COLUMNS} for week in figures.runway.grid]


def sync_stale_at(last_sync_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether the hygiene rule about an old sync fires at `now` (it changes the issues, so the figures)."""
    return last_sync_at is None or now - last_sync_at > SYNC_STALE_AFTER


def data_key_of(parts: Any, now: dt.datetime) -> tuple[str | None, dt.date]:
    """The stored figures' key for `data_key_parts` at `now`, and the business's date at `now`.

    Everything the figures are computed from is in it: the date, the synced books (their stamp changes with
    every finished sync and every QBO write), the decision queue and the hygiene triage. The key is None
    while the books have no stamp yet: such figures are never served from the store.
    """
    timezone, books, console, hygiene_version = parts
    as_of = local_today(timezone, now)
    if books is None:
        return None, as_of
    return f"{as_of.isoformat()}|{books}|{console or '-'}|{hygiene_version or 0}", as_of


def summary_fields(figures: BusinessFigures) -> dict[str, Any]:
    """The summary row's columns for computed figures."""
    runway = figures.runway
    reading = runway.runway
    return {
        "as_of": figures.inputs.as_of,
        "currency": figures.inputs.currency,
        "status": reading.status,
        "cash_now_cents": runway.cash_now_cents,
        "cash_net_of_cards_cents": runway.cash_net_of_cards_cents,
        "runway_days": reading.days,
        "runway_weeks": None if reading.weeks is None else str(reading.weeks),
        "cash_zero_date": reading.cash_zero_date,
        "not_burning": reading.not_burning,
        "lowest_cash_cents": runway.lowest_cash_cents,
        "lowest_cash_week": runway.lowest_cash_week,
        "lowest_cash_week_start": figures.lowest_cash_week_start,
        "bills_due_count": len(figures.bills_due),
        "bills_due_cents": figures.bills_due_cents,
        "overdue_invoices_count": len(figures.overdue_invoices),
        "overdue_invoices_cents": figures.overdue_invoices_cents,
        "hygiene_score": figures.hygiene.score,
        "issues_high": figures.hygiene.count("high"),
        "issues_medium": figures.hygiene.count("medium"),
        "issues_low": figures.hygiene.count("low"),
        "decisions_waiting": len(figures.waiting),
        "top_decisions": [line.as_json() for line in figures.waiting[:TOP_DECISIONS]],
        "last_sync_at": figures.inputs.snapshot.last_successful_sync_at,
        "error": None,
        "snapshot_at": runway.snapshot_at,
        "has_bank_account": runway.has_bank_account,
        "card_balance_cents": runway.card_balance_cents,
        "lowest_daily_cents": runway.lowest_daily_cents,
        "lowest_daily_date": runway.lowest_daily_date,
        "net_burn_4w_cents": runway.burn_4w.net_weekly_cents,
        "net_burn_13w_cents": runway.burn_13w.net_weekly_cents,
        **_aging_fields("ap", figures.aging.ap),
        **_aging_fields("ar", figures.aging.ar),
    }


def _empty_fields(
    as_of: dt.date, currency: str, last_sync_at: dt.datetime | None, error: str | None
) -> dict[str, Any]:
    return {
        "as_of": as_of,
        "currency": currency,
        "status": "unknown",
        "cash_now_cents": None,
        "cash_net_of_cards_cents": None,
        "runway_days": None,
        "runway_weeks": None,
        "cash_zero_date": None,
        "not_burning": False,
        "lowest_cash_cents": None,
        "lowest_cash_week": None,
        "lowest_cash_week_start": None,
        "bills_due_count": 0,
        "bills_due_cents": 0,
        "overdue_invoices_count": 0,
        "overdue_invoices_cents": 0,
        "hygiene_score": None,
        "issues_high": 0,
        "issues_medium": 0,
        "issues_low": 0,
        "decisions_waiting": 0,
        "top_decisions": [],
        "last_sync_at": last_sync_at,
        "error": error,
        "data_key": None,
        "snapshot_at": None,
        "has_bank_account": None,
        "card_balance_cents": None,
        "lowest_daily_cents": None,
        "lowest_daily_date": None,
        "net_burn_4w_cents": None,
        "net_burn_13w_cents": None,
        **_aging_fields("ap", None),
        **_aging_fields("ar", None),
    }


def stored_if_current(
    row: BusinessSummary | None, weeks: Sequence[Any], key_parts: Any, now: dt.datetime
) -> SummaryRecord | None:
    """The stored summary and grid if they are still right at `now` (their data key matches `key_parts`,
    read in the same transaction, and the sync-age hygiene rule has not changed its mind); else None."""
    key, _ = data_key_of(tuple(key_parts)[:4], now)
    if (
        row is None
        or key is None
        or row.data_key != key
        or sync_stale_at(row.last_sync_at, row.computed_at) != sync_stale_at(row.last_sync_at, now)
    ):
        return None
    return SummaryRecord.of(row, weeks)


def _computed(inputs: RunwayInputs) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The summary row's columns and grid weeks for one business's inputs (empty figures without a sync
    or when an amount cannot be converted, with the reason)."""
    snapshot = inputs.snapshot
    if snapshot.last_successful_sync_at is None:
        return _empty_fields(inputs.as_of, inputs.currency, None, None), []
    try:
        figures = compute_figures(inputs)
    except CurrencyMismatchError as exc:
        return _empty_fields(inputs.as_of, inputs.currency, snapshot.last_successful_sync_at, str(exc)), []
    return summary_fields(figures), week_fields(figures)


class BusinessSummaryDataOrchestrator:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def refresh_summary(
        self, business_id: int, *, now: dt.datetime | None = None
    ) -> SummaryRecord | None:
        """Recompute and store one business's summary row, its grid and this week's hygiene mark.

        Call it after anything that changes the business's figures; it opens its own transactions.
        Returns None for a business that no longer exists.
        """
        now = now or utcnow()
        # The key is read before the data: a change landing in between leaves a key that no longer
        # matches, so the next reader recomputes instead of trusting figures older than their key.
        async with self.db.read() as session:
            parts = await summaries.data_key_parts(session, business_id)
        if parts is None:
            return None
        key, _ = data_key_of(parts, now)
        try:
            inputs = await load_runway_inputs(self.db, business_id, now=now)
        except BusinessNotFoundError:
            return None
        except CurrencyMismatchError as exc:
            return await self._store_failure(business_id, now, str(exc))
        # Pure and, for a large company, a good half second of CPU: after a sync (in the serving process)
        # in a thread that stands aside for requests; within a request at once.
        fields, weeks = await foreground.pure_work(_computed, inputs)
        fields["computed_at"] = now
        fields["data_key"] = key
        keys = [issue_key(issue) for issue in inputs.open_issues]
        # A few dozen rows: on the loop's thread, holding the write lock for the SQL alone (threaded, its
        # trips back to a loop busy with requests held it for up to 36 ms after a sync).
        async with self.db.write(small=True) as session:
            row = await summaries.upsert_summary(session, business_id, **fields)
            await summaries.replace_weeks(session, business_id, weeks)
            await summaries.set_week_mark(session, business_id, monday_of(inputs.as_of), keys)
            stored_weeks = [WeekRecord(**week) for week in weeks]
            return SummaryRecord.of(row, stored_weeks)

    async def current(self, business_id: int, *, now: dt.datetime | None = None) -> SummaryRecord | None:
        """The business's figures for today: the stored ones when nothing they depend on changed since
        they were computed (two indexed reads), else freshly computed and stored. None: no such business.
        """
        now = now or utcnow()
        async with self.db.read() as session:
            parts = await summaries.data_key_parts(session, business_id)
            if parts is None:
                return None
            row, weeks = await summaries.stored_dashboard(session, business_id)
            stored = stored_if_current(row, weeks, parts, now)
        return stored or await self.refresh_summary(business_id, now=now)

    async def compute(self, business_id: int, *, as_of: dt.date, now: dt.datetime) -> SummaryRecord:
        """Figures for another date, computed and not stored (the store holds today's only).

        Raises:
            BusinessNotFoundError: No such business.
            CurrencyMismatchError: The books hold an amount that cannot be converted.
        """
        inputs = await load_runway_inputs(self.db, business_id, as_of=as_of, now=now)
        fields, weeks = _computed(inputs)
        fields["computed_at"] = now
        fields["data_key"] = None
        return SummaryRecord.from_fields(business_id, fields, weeks)

    async def _store_failure(self, business_id: int, now: dt.datetime, error: str) -> SummaryRecord | None:
        async with self.db.write() as session:
            business = await core.get_business(session, business_id)
            if business is None:
                return None
            last_ok = await qbo_repo.last_success_at(session, business_id)
            fields = _empty_fields(
                local_today(business.timezone, now), business.home_currency, last_ok, error
            )
            row = await summaries.upsert_summary(session, business_id, computed_at=now, **fields)
            await summaries.replace_weeks(session, business_id, [])
            return SummaryRecord.of(row)

    def sync_scope(self, business_id: int) -> AbstractAsyncContextManager[None]:
        """SmartSync run scope: from a run's start until its listeners (`on_sync_run`) have finished, the
        business's derived state is being worked out again (`books_cache.refreshing`): from the moment
        the run replaces the books stamp, screens may show the books of just before meanwhile."""
        return refreshing(business_id)

    async def on_sync_run(self, business_id: int, outcome: SyncOutcome) -> None:
        """SmartSync run listener: every finished run (failed ones too, which make the data stale)."""
        if outcome.status in ("succeeded", "failed"):
            await self.refresh_summary(business_id)

    async def summaries_for(self, business_ids: Sequence[int]) -> dict[int, SummaryRecord]:
        async with self.db.read() as session:
            rows = await summaries.summaries_for(session, list(business_ids))
            return {business_id: SummaryRecord.of(row) for business_id, row in rows.items()}
