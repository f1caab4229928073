"""Data orchestrator: the client list — a firm user's client businesses with their stored summary rows,
QuickBooks connection states and who last worked on each; a handful of queries whatever the firm's size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domains.core import repository as core
from domains.core.db import Database
from domains.summaries import repository as summaries
from runway.services.data_orchestrators.business_summary_data_orchestrator import (
    BusinessSummaryDataOrchestrator,
    SummaryRecord,
)


@dataclass(frozen=True, slots=True)
class ClientRecord:
    business_id: int
    name: str
    firm_id: int
    firm_name: str
    summary: SummaryRecord | None
    connection_status: str
    last_worked_by: str | None
    last_worked_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ClientListData:
    """The user's firms (id, name, role) and every client business of those firms."""

    firms: tuple[tuple[int, str, str], ...]
    clients: tuple[ClientRecord, ...]


class ClientListDataOrchestrator:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def firm_clients(self, user_id: int) -> ClientListData:
        """Only businesses reached through the user's firm memberships (never another firm's)."""
        async with self.db.read() as session:
            firms = tuple(await core.firm_roles_for_user(session, user_id))
            accesses = [
                a
                for a in await core.businesses_for_user(session, user_id)
                if a.firm_id is not None and any(a.firm_id == firm_id for firm_id, _, _ in firms)
            ]
            ids = [a.business_id for a in accesses]
            rows = await summaries.summaries_for(session, ids)
            connections = await summaries.connection_statuses(session, ids)
            worked = await summaries.last_worked(session, ids)
        # Decisions and fixes are audited; a row computed before the latest of them is out of date.
        # Only the few businesses someone just worked on are recomputed, never the whole firm.
        stale = [
            business_id
            for business_id, (_who, at) in worked.items()
            if business_id in rows and rows[business_id].computed_at < at
        ]
        if stale:
            refresher = BusinessSummaryDataOrchestrator(self.db)
            for business_id in stale:
                await refresher.refresh_summary(business_id)
            async with self.db.read() as session:
                rows.update(await summaries.summaries_for(session, stale))
        clients = []
        for access in accesses:
            assert access.firm_id is not None
            who, when = worked.get(access.business_id, (None, None))
            row = rows.get(access.business_id)
            clients.append(
                ClientRecord(
                    business_id=access.business_id,
                    name=access.name,
                    firm_id=access.firm_id,
                    firm_name=access.firm_name or "",
                    summary=SummaryRecord.of(row) if row is not None else None,
                    connection_status=connections.get(access.business_id, "not_connected"),
                    last_worked_by=who,
                    last_worked_at=when,
                )
            )
        return ClientListData(firms, tuple(clients))
