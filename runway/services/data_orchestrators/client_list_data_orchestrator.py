"""Data orchestrator: the client list — a firm user's client businesses with their stored summary figures,
QuickBooks connection states and who last worked on each; one query whatever the firm's size (two when
the caller does not pass the user's firms).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from domains.core import repository as core
from domains.core.db import Database
from domains.summaries import repository as summaries
from runway.services.data_orchestrators.business_summary_data_orchestrator import (
    BusinessSummaryDataOrchestrator,
)


class ClientRecord(NamedTuple):
    """One client business with the summary columns the list shows (None where it has no summary row).

    `computed_at` is None exactly when the business has no summary row; `connection_status` is None when
    it was never connected to QuickBooks. A named tuple, not a dataclass: it is built straight from the
    query's row, 500 times per page.
    """

    business_id: int
    name: str
    firm_id: int
    firm_name: str
    computed_at: dt.datetime | None
    currency: str | None
    status: str | None
    cash_now_cents: int | None
    runway_days: int | None
    runway_weeks: str | None
    cash_zero_date: dt.date | None
    not_burning: bool | None
    hygiene_score: int | None
    issues_high: int | None
    issues_medium: int | None
    issues_low: int | None
    decisions_waiting: int | None
    last_sync_at: dt.datetime | None
    error: str | None
    connection_status: str | None
    last_worked_by: str | None
    last_worked_at: dt.datetime | None

    @property
    def has_summary(self) -> bool:
        return self.computed_at is not None


@dataclass(frozen=True, slots=True)
class ClientListData:
    """The user's firms (id, name, role) and every client business of those firms."""

    firms: tuple[tuple[int, str, str], ...]
    clients: tuple[ClientRecord, ...]


class ClientListDataOrchestrator:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def firm_clients(
        self, user_id: int, *, firms: tuple[tuple[int, str, str], ...] | None = None
    ) -> ClientListData:
        """Only businesses of the firms the user is a member of (never another firm's).

        `firms` are the user's (firm id, name, role) when the caller has them already (the signed-in
        user carries them), which saves a query.
        """
        async with self.db.read() as session:
            if firms is None:
                firms = tuple(await core.firm_roles_for_user(session, user_id))
            firm_ids = sorted({firm_id for firm_id, _, _ in firms})
            rows = await summaries.firm_client_rows(session, firm_ids)
        # Decisions and fixes are audited; a row computed before the latest of them is out of date.
        # Only the few businesses someone just worked on are recomputed, never the whole firm.
        stale = {row[0] for row in rows if row[-1] is not None and row[4] is not None and row[4] < row[-1]}
        if stale:
            refresher = BusinessSummaryDataOrchestrator(self.db)
            for business_id in sorted(stale):
                await refresher.refresh_summary(business_id)
            async with self.db.read() as session:
                rows = await summaries.firm_client_rows(session, firm_ids)
        return ClientListData(firms, tuple(map(ClientRecord._make, rows)))
