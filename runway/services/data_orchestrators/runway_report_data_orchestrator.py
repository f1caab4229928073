"""Data orchestrator: the data behind `runway report` — a business found by name, and its snapshot."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domains.core import repository as core
from domains.core.db import Database
from runway.services.calculators import HygieneIssue
from runway.services.calculators.snapshots import BusinessSnapshot, PlannedDate
from runway.services.data_orchestrators.runway_inputs import load_runway_inputs


@dataclass(frozen=True, slots=True)
class ReportData:
    """The same inputs the screens use: the snapshot, decisions' planned dates and the open issues."""

    business_id: int
    timezone: str
    snapshot: BusinessSnapshot
    as_of: dt.date
    now: dt.datetime
    planned_dates: tuple[PlannedDate, ...]
    chased_invoice_ids: tuple[str, ...]
    open_issues: tuple[HygieneIssue, ...]


class BusinessNameError(LookupError):
    """No business, or more than one, has that name."""


class RunwayReportDataOrchestrator:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def find_business_id(self, name: str) -> int:
        async with self.db.read() as session:
            matches = await core.find_businesses_by_name(session, name)
        if not matches:
            raise BusinessNameError(f"no business is named {name!r}")
        if len(matches) > 1:
            raise BusinessNameError(f"{len(matches)} businesses are named {name!r}; rename one of them")
        return matches[0].id

    async def get_report_data(self, business_id: int, as_of: dt.date | None = None) -> ReportData:
        inputs = await load_runway_inputs(self.db, business_id, as_of=as_of)
        return ReportData(
            business_id,
            inputs.timezone,
            inputs.snapshot,
            inputs.as_of,
            inputs.now,
            inputs.plan.planned_dates,
            inputs.plan.chased_invoice_ids,
            inputs.open_issues,
        )
