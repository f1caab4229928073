"""Data orchestrator: the data behind `runway report` — a business found by name, and its snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from domains.core import repository as core
from domains.core.db import Database
from runway.services.calculators.snapshots import BusinessSnapshot
from runway.services.data_orchestrators.business_snapshot import load_business_snapshot


@dataclass(frozen=True, slots=True)
class ReportData:
    business_id: int
    timezone: str
    snapshot: BusinessSnapshot


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

    async def get_report_data(self, business_id: int) -> ReportData:
        async with self.db.read() as session:
            snapshot = await load_business_snapshot(session, business_id)
            business = await core.get_business(session, business_id)
            assert business is not None
            return ReportData(business_id, business.timezone, snapshot)
