"""Experience: the advisor's client list — every client of the user's firms, shortest runway first, read
from the stored summary rows (never 500 forecasts per view)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from runway.services.data_orchestrators.client_list_data_orchestrator import (
    ClientListDataOrchestrator,
    ClientRecord,
)

SYNC_STALE_AFTER = dt.timedelta(hours=24)
ADD_CLIENT_ROLES = frozenset({"admin", "advisor"})
STATUS_LABELS = {"red": "Red", "amber": "Amber", "green": "Green", "unknown": "No data"}


@dataclass(frozen=True, slots=True)
class ClientRow:
    business_id: int
    name: str
    firm_name: str
    status: str
    status_label: str
    runway_days: int | None
    runway_weeks: str | None
    not_burning: bool
    cash_zero_date: dt.date | None
    cash_now_cents: int | None
    currency: str
    hygiene_score: int | None
    issues_high: int
    issues_medium: int
    issues_low: int
    decisions_waiting: int
    last_sync_at: dt.datetime | None
    sync_stale: bool
    last_worked_by: str | None
    last_worked_at: dt.datetime | None
    connection_status: str
    error: str | None

    @property
    def needs_reconnect(self) -> bool:
        return self.connection_status == "reconnect_needed"

    @property
    def filter_text(self) -> str:
        return f"{self.name} {self.firm_name}".lower()


@dataclass(frozen=True, slots=True)
class ClientListView:
    is_firm_member: bool
    firm_names: tuple[str, ...]
    rows: tuple[ClientRow, ...]
    can_add_client: bool

    @property
    def empty(self) -> bool:
        return not self.rows

    @property
    def reconnect_count(self) -> int:
        return sum(1 for row in self.rows if row.needs_reconnect)


def client_order(row: ClientRow) -> tuple[int, int, int, str, int]:
    """Shortest runway first (not burning after every finite runway, no figures last), then more open
    high-severity hygiene issues first, then by name."""
    if row.runway_days is not None:
        group, days = 0, row.runway_days
    elif row.not_burning:
        group, days = 1, 0
    else:
        group, days = 2, 0
    return (group, days, -row.issues_high, row.name.lower(), row.business_id)


def _row(client: ClientRecord, now: dt.datetime) -> ClientRow:
    summary = client.summary
    last_sync = summary.last_sync_at if summary else None
    status = summary.status if summary else "unknown"
    return ClientRow(
        business_id=client.business_id,
        name=client.name,
        firm_name=client.firm_name,
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        runway_days=summary.runway_days if summary else None,
        runway_weeks=summary.runway_weeks if summary else None,
        not_burning=summary.not_burning if summary else False,
        cash_zero_date=summary.cash_zero_date if summary else None,
        cash_now_cents=summary.cash_now_cents if summary else None,
        currency=summary.currency if summary else "USD",
        hygiene_score=summary.hygiene_score if summary else None,
        issues_high=summary.issues_high if summary else 0,
        issues_medium=summary.issues_medium if summary else 0,
        issues_low=summary.issues_low if summary else 0,
        decisions_waiting=summary.decisions_waiting if summary else 0,
        last_sync_at=last_sync,
        sync_stale=last_sync is None or now - last_sync > SYNC_STALE_AFTER,
        last_worked_by=client.last_worked_by,
        last_worked_at=client.last_worked_at,
        connection_status=client.connection_status,
        error=summary.error if summary else None,
    )


class ClientListService:
    def __init__(self, orchestrator: ClientListDataOrchestrator) -> None:
        self.data_orchestrator = orchestrator

    async def list_for(self, user_id: int, *, now: dt.datetime | None = None) -> ClientListView:
        now = now or dt.datetime.now(dt.UTC)
        data = await self.data_orchestrator.firm_clients(user_id)
        rows = tuple(sorted((_row(client, now) for client in data.clients), key=client_order))
        return ClientListView(
            is_firm_member=bool(data.firms),
            firm_names=tuple(name for _, name, _ in data.firms),
            rows=rows,
            can_add_client=any(role in ADD_CLIENT_ROLES for _, _, role in data.firms),
        )
