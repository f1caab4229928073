"""Experience: the advisor's client list — every client of the user's firms, shortest runway first, read
from the stored summary rows (never 500 forecasts per view)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from domains.core.money import Money, format_money
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
    # Display text, formatted once here rather than through a template call per cell (500 rows per page).
    filter_text: str = ""
    cash_label: str = "—"
    cash_zero_label: str = "—"
    last_sync_label: str = ""

    @property
    def needs_reconnect(self) -> bool:
        return self.connection_status == "reconnect_needed"


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


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date_label(value: dt.date | None) -> str:
    """A date as the `day` filter writes it ("7 Dec 2026"), without strftime's cost on 500 rows."""
    if value is None:
        return "—"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def _sync_label(value: dt.datetime | None) -> str:
    """A sync time as `day("%-d %b %H:%M")` writes it ("7 Dec 14:05")."""
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.hour:02d}:{value.minute:02d}"


def _row(client: ClientRecord, now: dt.datetime) -> ClientRow:
    last_sync = client.last_sync_at
    status = client.status or "unknown"
    cash = client.cash_now_cents
    currency = client.currency or "USD"
    return ClientRow(
        business_id=client.business_id,
        name=client.name,
        firm_name=client.firm_name,
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        runway_days=client.runway_days,
        runway_weeks=client.runway_weeks,
        not_burning=bool(client.not_burning),
        cash_zero_date=client.cash_zero_date,
        cash_now_cents=cash,
        currency=currency,
        hygiene_score=client.hygiene_score,
        issues_high=client.issues_high or 0,
        issues_medium=client.issues_medium or 0,
        issues_low=client.issues_low or 0,
        decisions_waiting=client.decisions_waiting or 0,
        last_sync_at=last_sync,
        sync_stale=last_sync is None or now - last_sync > SYNC_STALE_AFTER,
        last_worked_by=client.last_worked_by,
        last_worked_at=client.last_worked_at,
        connection_status=client.connection_status or "not_connected",
        error=client.error,
        filter_text=f"{client.name} {client.firm_name}".lower(),
        cash_label="—" if cash is None else format_money(Money(cash, currency)),
        cash_zero_label=_date_label(client.cash_zero_date),
        last_sync_label=_sync_label(last_sync),
    )


class ClientListService:
    def __init__(self, orchestrator: ClientListDataOrchestrator) -> None:
        self.data_orchestrator = orchestrator

    async def list_for(
        self,
        user_id: int,
        *,
        firms: Iterable[tuple[int, str, str]] | None = None,
        now: dt.datetime | None = None,
    ) -> ClientListView:
        """The user's client list; `firms` are their (firm id, name, role) when already known."""
        now = now or dt.datetime.now(dt.UTC)
        known = None if firms is None else tuple(sorted(firms, key=lambda firm: (firm[1], firm[0])))
        data = await self.data_orchestrator.firm_clients(user_id, firms=known)
        rows = tuple(sorted((_row(client, now) for client in data.clients), key=client_order))
        return ClientListView(
            is_firm_member=bool(data.firms),
            firm_names=tuple(name for _, name, _ in data.firms),
            rows=rows,
            can_add_client=any(role in ADD_CLIENT_ROLES for _, _, role in data.firms),
        )
