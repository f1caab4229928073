"""Calculator: assembles the scriptable report of PRODUCT §6 from one snapshot (no I/O, no printing).

The shape is a public interface: extend it, never break it. Amounts are integer cents of the home
currency, dates ISO strings, ``runway.weeks`` a decimal string with one digit after the point (e.g.
``"4.3"``) so the exact figure survives ``json.dumps`` without passing through a float; ``null`` when
not burning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from runway.services.calculators.aging_calculator import AgingCalculator
from runway.services.calculators.data_quality_calculator import (
    DataQualityCalculator,
    HygieneIssue,
    RuleRegistry,
)
from runway.services.calculators.runway_calculator import RunwayCalculator
from runway.services.calculators.snapshots import BusinessSnapshot, PlannedDate, RunwaySettings


def build_runway_report(
    snapshot: BusinessSnapshot,
    as_of: dt.date,
    settings: RunwaySettings | None = None,
    *,
    planned_dates: Iterable[PlannedDate] = (),
    chased_invoice_ids: Iterable[str] = (),
    hygiene_issues: Iterable[HygieneIssue] | None = None,
    now: dt.datetime | None = None,
    registry: RuleRegistry | None = None,
) -> dict[str, Any]:
    """Build the report document for one business.

    Args:
        snapshot: The business snapshot (balances as of its last sync).
        as_of: Business-local date the forecast starts on.
        settings: The firm's settings; PRODUCT §3 defaults when omitted.
        planned_dates: Dates set by decisions, as on the screens.
        chased_invoice_ids: Invoices being chased, as on the screens.
        hygiene_issues: The open issues (dismissed/snoozed ones left out) when the caller tracks their
            lifecycle; every detected issue when omitted.
        now: Timezone-aware clock reading for ``sync_stale``; ``snapshot.snapshot_at`` when omitted.
        registry: Hygiene rules to run when ``hygiene_issues`` is omitted.

    Returns:
        A dict ready for ``json.dumps``: only str, int, bool, None, lists and dicts.
    """
    runway = RunwayCalculator(settings).calculate(
        snapshot, as_of, planned_dates=planned_dates, chased_invoice_ids=chased_invoice_ids
    )
    aging = AgingCalculator().calculate(snapshot, as_of)
    quality = DataQualityCalculator(registry)
    issues = quality.issues(snapshot, as_of, now=now) if hygiene_issues is None else tuple(hygiene_issues)
    hygiene = quality.score(snapshot, issues)
    reading = runway.runway
    return {
        "business": snapshot.business_name,
        "as_of": as_of.isoformat(),
        "snapshot_at": snapshot.snapshot_at.isoformat(),
        "currency": snapshot.home_currency,
        "cash_now_cents": runway.cash_now_cents,
        "grid": [week.as_report() for week in runway.grid],
        "runway": {
            "days": reading.days,
            "weeks": None if reading.weeks is None else str(reading.weeks),
            "cash_zero_date": None if reading.cash_zero_date is None else reading.cash_zero_date.isoformat(),
            "status": reading.status,
            "not_burning": reading.not_burning,
        },
        "lowest_cash_cents": runway.lowest_cash_cents,
        "lowest_daily_cents": runway.lowest_daily_cents,
        "lowest_daily_date": runway.lowest_daily_date.isoformat(),
        "aging": {"ap": aging.ap.as_report(), "ar": aging.ar.as_report()},
        "hygiene": {
            "score": hygiene.score,
            "issues": [issue.as_report() for issue in hygiene.issues],
        },
    }
