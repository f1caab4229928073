"""Experience: the scriptable runway report (`runway report`), the same numbers the screens show."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runway.services.calculators.report import build_runway_report
from runway.services.data_orchestrators.runway_report_data_orchestrator import RunwayReportDataOrchestrator


def business_today(timezone: str, now: dt.datetime | None = None) -> dt.date:
    """Today's date where the business is (QBO dates carry no zone; 'today' is the company's)."""
    moment = now or dt.datetime.now(dt.UTC)
    try:
        return moment.astimezone(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(dt.UTC).date()


class RunwayReportService:
    def __init__(self, orchestrator: RunwayReportDataOrchestrator) -> None:
        self.data_orchestrator = orchestrator

    async def report(self, business_name: str, as_of: dt.date | None = None) -> dict[str, Any]:
        """The report document of PRODUCT.md §6; `runway.weeks` is a Decimal (a JSON number)."""
        business_id = await self.data_orchestrator.find_business_id(business_name)
        data = await self.data_orchestrator.get_report_data(business_id, as_of)
        # Decisions' planned dates and the open (not dismissed or snoozed) issues, as on the screens.
        report = build_runway_report(
            data.snapshot,
            data.as_of,
            planned_dates=data.planned_dates,
            chased_invoice_ids=data.chased_invoice_ids,
            hygiene_issues=data.open_issues,
            now=data.now,
        )
        weeks = report["runway"]["weeks"]
        report["runway"]["weeks"] = Decimal(weeks) if weeks is not None else None
        return report
