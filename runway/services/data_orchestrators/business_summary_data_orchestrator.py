"""Data orchestrator: per-business summary rows — refreshed after every sync run and after decisions — and
the weekly hygiene marks the digest compares against; read by the client list and the firm digest.

Public API for other features: `BusinessSummaryDataOrchestrator(db).refresh_summary(business_id)` after
anything that changes a business's figures (a decision, a hygiene fix).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from domains.core import repository as core
from domains.core.db import Database, utcnow
from domains.core.money import CurrencyMismatchError
from domains.qbo import repository as qbo_repo
from domains.qbo.smart_sync import SyncOutcome
from domains.summaries import repository as summaries
from domains.summaries.models import BusinessSummary
from runway.services.data_orchestrators.business_figures import BusinessFigures, ItemLine, compute_figures
from runway.services.data_orchestrators.runway_inputs import (
    BusinessNotFoundError,
    issue_key,
    load_runway_inputs,
    local_today,
    monday_of,
)

log = structlog.get_logger("runway.summaries")

TOP_DECISIONS = 5


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

    @property
    def has_figures(self) -> bool:
        return self.cash_now_cents is not None

    @classmethod
    def of(cls, row: BusinessSummary) -> SummaryRecord:
        return cls(
            business_id=row.business_id,
            as_of=row.as_of,
            computed_at=row.computed_at,
            currency=row.currency,
            status=row.status,
            cash_now_cents=row.cash_now_cents,
            cash_net_of_cards_cents=row.cash_net_of_cards_cents,
            runway_days=row.runway_days,
            runway_weeks=row.runway_weeks,
            cash_zero_date=row.cash_zero_date,
            not_burning=row.not_burning,
            lowest_cash_cents=row.lowest_cash_cents,
            lowest_cash_week=row.lowest_cash_week,
            lowest_cash_week_start=row.lowest_cash_week_start,
            bills_due_count=row.bills_due_count,
            bills_due_cents=row.bills_due_cents,
            overdue_invoices_count=row.overdue_invoices_count,
            overdue_invoices_cents=row.overdue_invoices_cents,
            hygiene_score=row.hygiene_score,
            issues_high=row.issues_high,
            issues_medium=row.issues_medium,
            issues_low=row.issues_low,
            decisions_waiting=row.decisions_waiting,
            top_decisions=tuple(ItemLine.from_json(item) for item in row.top_decisions or ()),
            last_sync_at=row.last_sync_at,
            error=row.error,
        )


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
    }


class BusinessSummaryDataOrchestrator:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def refresh_summary(
        self, business_id: int, *, now: dt.datetime | None = None
    ) -> SummaryRecord | None:
        """Recompute and store one business's summary row and this week's hygiene mark.

        Call it after anything that changes the business's figures; it opens its own transactions.
        Returns None for a business that no longer exists.
        """
        now = now or utcnow()
        try:
            inputs = await load_runway_inputs(self.db, business_id, now=now)
        except BusinessNotFoundError:
            return None
        except CurrencyMismatchError as exc:
            return await self._store_failure(business_id, now, str(exc))
        snapshot = inputs.snapshot
        keys = [issue_key(issue) for issue in inputs.open_issues]
        if snapshot.last_successful_sync_at is None:
            fields = _empty_fields(inputs.as_of, inputs.currency, None, None)
        else:
            try:
                fields = summary_fields(compute_figures(inputs))
            except CurrencyMismatchError as exc:
                fields = _empty_fields(
                    inputs.as_of, inputs.currency, snapshot.last_successful_sync_at, str(exc)
                )
        fields["computed_at"] = now
        async with self.db.write() as session:
            row = await summaries.upsert_summary(session, business_id, **fields)
            await summaries.set_week_mark(session, business_id, monday_of(inputs.as_of), keys)
            return SummaryRecord.of(row)

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
            return SummaryRecord.of(row)

    async def on_sync_run(self, business_id: int, outcome: SyncOutcome) -> None:
        """SmartSync run listener: every finished run (failed ones too, which make the data stale)."""
        if outcome.status in ("succeeded", "failed"):
            await self.refresh_summary(business_id)

    async def summaries_for(self, business_ids: Sequence[int]) -> dict[int, SummaryRecord]:
        async with self.db.read() as session:
            rows = await summaries.summaries_for(session, list(business_ids))
            return {business_id: SummaryRecord.of(row) for business_id, row in rows.items()}
