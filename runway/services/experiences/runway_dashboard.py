"""Experience: the runway dashboard — cash now, runway, the 13-week chart and table, aging, hygiene,
decisions waiting and the QuickBooks sync — the owner's home; plus the grid's CSV export and "sync now"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from domains.core.permissions import Capability
from runway.services.data_orchestrators.business_figures import ItemLine
from runway.services.data_orchestrators.business_summary_data_orchestrator import (
    AgingRecord,
    SummaryRecord,
    WeekRecord,
)
from runway.services.data_orchestrators.runway_dashboard_data_orchestrator import (
    ConnectionState,
    NotConnectedError,
    RunwayDashboardDataOrchestrator,
    SyncState,
    SyncUnavailableError,
)
from runway.services.experiences.business_list import BusinessContext

__all__ = [
    "ChartView",
    "ConnectionView",
    "CsvExport",
    "DashboardView",
    "NotConnectedError",
    "RunwayDashboardService",
    "SyncStatusView",
    "SyncUnavailableError",
]

SYNC_STALE_AFTER = dt.timedelta(hours=24)
STATUS_LABELS = {"red": "Red", "amber": "Amber", "green": "Green", "unknown": "No data"}
GRID_CSV_HEADER = (
    "week",
    "start",
    "opening_cents",
    "receipts_invoices_cents",
    "receipts_baseline_cents",
    "disbursements_bills_cents",
    "disbursements_baseline_cents",
    "net_change_cents",
    "ending_cents",
)


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """The QuickBooks link as the banner and the dashboard show it."""

    business_id: int
    status: str
    last_error: str | None
    can_manage: bool

    @property
    def connected(self) -> bool:
        return self.status == "connected"

    @property
    def needs_reconnect(self) -> bool:
        return self.status == "reconnect_needed"


@dataclass(frozen=True, slots=True)
class SyncStatusView:
    """The sync box: a progress bar while a run is active, else when the last sync succeeded."""

    business_id: int
    connected: bool
    running: bool
    run_id: int | None
    entities_done: int
    entities_total: int
    last_success_at: dt.datetime | None
    stale: bool
    failed: bool
    error: str | None
    message: str | None = None
    # Set when a watched run has just finished: the page then reloads its numbers.
    just_finished: bool = False

    @property
    def percent(self) -> int:
        if self.entities_total <= 0:
            return 0
        return min(100, (100 * self.entities_done) // self.entities_total)


@dataclass(frozen=True, slots=True)
class ChartBar:
    week: int
    start: dt.date
    ending_cents: int
    # SVG viewBox coordinates (not money: the amount is `ending_cents`).
    x: float
    y: float
    width: float
    height: float
    label_x: float
    negative: bool


@dataclass(frozen=True, slots=True)
class ChartTick:
    cents: int
    y: float


@dataclass(frozen=True, slots=True)
class ChartView:
    """Geometry of the 13-week SVG chart (viewBox units); the template only draws it."""

    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    zero_y: float
    bars: tuple[ChartBar, ...]
    ticks: tuple[ChartTick, ...]
    tick_x: float
    label_y: float


@dataclass(frozen=True, slots=True)
class GridRowView:
    week: int
    start: dt.date
    end: dt.date
    opening_cents: int
    receipts_invoices_cents: int
    receipts_baseline_cents: int
    disbursements_bills_cents: int
    disbursements_baseline_cents: int
    net_change_cents: int
    ending_cents: int
    below_minimum: bool
    lowest: bool


@dataclass(frozen=True, slots=True)
class DashboardView:
    business_id: int
    name: str
    firm_name: str | None
    as_of: dt.date
    as_of_is_today: bool
    currency: str
    connection: ConnectionView
    sync: SyncStatusView
    has_data: bool
    error: str | None
    snapshot_at: dt.datetime | None
    has_bank_account: bool
    cash_now_cents: int
    card_balance_cents: int
    cash_net_of_cards_cents: int
    runway_days: int | None
    runway_weeks: str | None
    cash_zero_date: dt.date | None
    status: str
    status_label: str
    not_burning: bool
    lowest_cash_cents: int
    lowest_cash_week: int
    lowest_cash_week_start: dt.date | None
    lowest_daily_cents: int
    lowest_daily_date: dt.date | None
    net_burn_4w_cents: int
    net_burn_13w_cents: int
    grid: tuple[GridRowView, ...]
    chart: ChartView | None
    ap: AgingRecord | None
    ar: AgingRecord | None
    hygiene_score: int | None
    issues_high: int
    issues_medium: int
    issues_low: int
    decisions_waiting: int
    top_decisions: tuple[ItemLine, ...]
    can_sync: bool

    @property
    def as_of_query(self) -> str:
        """The query string that keeps a chosen date on links and refreshes ("" for today)."""
        return "" if self.as_of_is_today else f"?as_of={self.as_of.isoformat()}"


@dataclass(frozen=True, slots=True)
class CsvExport:
    filename: str
    header: tuple[str, ...]
    rows: tuple[tuple[str | int, ...], ...]


def _cents(value: int | None) -> int:
    return 0 if value is None else value


def _nice_step(span: int, parts: int = 4) -> int:
    """A round tick step (1, 2 or 5 times a power of ten, in cents) giving about `parts` intervals."""
    raw = max(1, -(-span // parts))
    magnitude = 10 ** (len(str(raw)) - 1)
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def build_chart(grid: Sequence[WeekRecord]) -> ChartView:
    """Bars of each week's ending cash around a zero line, with round-number ticks."""
    width, height = 720, 260
    left, right, top, bottom = 88.0, 708.0, 12.0, 226.0
    endings = [week.ending_cents for week in grid]
    low = min(0, *endings)
    high = max(0, *endings)
    step = _nice_step(max(high - low, 100))
    tick_low = (low // step) * step
    tick_high = -(-high // step) * step
    if tick_high == tick_low:
        tick_high = tick_low + step
    span = tick_high - tick_low

    def y_of(cents: int) -> float:
        return round(top + (tick_high - cents) * (bottom - top) / span, 1)

    zero_y = y_of(0)
    slot = (right - left) / max(len(grid), 1)
    bar_width = round(slot * 0.64, 1)
    bars = []
    for index, week in enumerate(grid):
        x = round(left + index * slot + (slot - bar_width) / 2, 1)
        y_end = y_of(week.ending_cents)
        bars.append(
            ChartBar(
                week=week.week,
                start=week.start,
                ending_cents=week.ending_cents,
                x=x,
                y=min(y_end, zero_y),
                width=bar_width,
                height=round(abs(zero_y - y_end), 1),
                label_x=round(x + bar_width / 2, 1),
                negative=week.ending_cents < 0,
            )
        )
    ticks = tuple(ChartTick(cents, y_of(cents)) for cents in range(tick_low, tick_high + 1, step))
    return ChartView(
        width, height, left, right, top, bottom, zero_y, tuple(bars), ticks, left - 8, bottom + 20
    )


def _grid_rows(record: SummaryRecord) -> tuple[GridRowView, ...]:
    return tuple(
        GridRowView(
            week=w.week,
            start=w.start,
            end=w.end,
            opening_cents=w.opening_cents,
            receipts_invoices_cents=w.receipts_invoices_cents,
            receipts_baseline_cents=w.receipts_baseline_cents,
            disbursements_bills_cents=w.disbursements_bills_cents,
            disbursements_baseline_cents=w.disbursements_baseline_cents,
            net_change_cents=w.net_change_cents,
            ending_cents=w.ending_cents,
            below_minimum=w.below_minimum,
            lowest=w.week == record.lowest_cash_week,
        )
        for w in record.grid
    )


def sync_status_view(
    business_id: int,
    connection: ConnectionState,
    state: SyncState,
    now: dt.datetime,
    *,
    watched_run: int | None = None,
    message: str | None = None,
) -> SyncStatusView:
    active = state.active
    latest = state.latest
    failed = latest is not None and latest.status == "failed" and active is None
    last_ok = state.last_success_at
    just_finished = (
        watched_run is not None
        and active is None
        and latest is not None
        and latest.id == watched_run
        and not latest.active
    )
    return SyncStatusView(
        business_id=business_id,
        connected=connection.status == "connected",
        running=active is not None,
        run_id=active.id if active else None,
        entities_done=active.entities_done if active else 0,
        entities_total=active.entities_total if active else 0,
        last_success_at=last_ok,
        stale=last_ok is None or now - last_ok > SYNC_STALE_AFTER,
        failed=failed,
        error=latest.error if failed and latest else None,
        message=message,
        just_finished=just_finished,
    )


class RunwayDashboardService:
    def __init__(self, orchestrator: RunwayDashboardDataOrchestrator) -> None:
        self.data_orchestrator = orchestrator

    async def _connection(self, business: BusinessContext) -> tuple[ConnectionState, ConnectionView]:
        state = await self.data_orchestrator.connection(business.id)
        view = ConnectionView(business.id, state.status, state.last_error, business.can(Capability.APPROVE))
        return state, view

    async def connection(self, business: BusinessContext) -> ConnectionView:
        """For the "reconnect QuickBooks" banner on every page about this business."""
        return (await self._connection(business))[1]

    async def dashboard(
        self, business: BusinessContext, *, as_of: dt.date | None = None, now: dt.datetime | None = None
    ) -> DashboardView:
        now = now or dt.datetime.now(dt.UTC)
        state, sync_state, record = await self.data_orchestrator.page(business.id, as_of=as_of, now=now)
        connection = ConnectionView(
            business.id, state.status, state.last_error, business.can(Capability.APPROVE)
        )
        sync = sync_status_view(business.id, state, sync_state, now)
        return self._view(business, as_of is None, connection, sync, record)

    def _view(
        self,
        business: BusinessContext,
        is_today: bool,
        connection: ConnectionView,
        sync: SyncStatusView,
        record: SummaryRecord,
    ) -> DashboardView:
        has_data = record.last_sync_at is not None
        shows_figures = has_data and record.error is None and record.has_figures
        if not shows_figures:
            return DashboardView(
                business_id=business.id,
                name=business.name,
                firm_name=business.firm_name,
                as_of=record.as_of,
                as_of_is_today=is_today,
                currency="USD",
                connection=connection,
                sync=sync,
                has_data=has_data,
                error=record.error if has_data else None,
                snapshot_at=None,
                has_bank_account=False,
                cash_now_cents=0,
                card_balance_cents=0,
                cash_net_of_cards_cents=0,
                runway_days=None,
                runway_weeks=None,
                cash_zero_date=None,
                status="unknown",
                status_label=STATUS_LABELS["unknown"],
                not_burning=False,
                lowest_cash_cents=0,
                lowest_cash_week=0,
                lowest_cash_week_start=None,
                lowest_daily_cents=0,
                lowest_daily_date=None,
                net_burn_4w_cents=0,
                net_burn_13w_cents=0,
                grid=(),
                chart=None,
                ap=None,
                ar=None,
                hygiene_score=None,
                issues_high=0,
                issues_medium=0,
                issues_low=0,
                decisions_waiting=0,
                top_decisions=(),
                can_sync=connection.connected,
            )
        return DashboardView(
            business_id=business.id,
            name=business.name,
            firm_name=business.firm_name,
            as_of=record.as_of,
            as_of_is_today=is_today,
            currency=record.currency,
            connection=connection,
            sync=sync,
            has_data=True,
            error=None,
            snapshot_at=record.snapshot_at,
            has_bank_account=record.has_bank_account,
            cash_now_cents=_cents(record.cash_now_cents),
            card_balance_cents=_cents(record.card_balance_cents),
            cash_net_of_cards_cents=_cents(record.cash_net_of_cards_cents),
            runway_days=record.runway_days,
            runway_weeks=record.runway_weeks,
            cash_zero_date=record.cash_zero_date,
            status=record.status,
            status_label=STATUS_LABELS.get(record.status, record.status),
            not_burning=record.not_burning,
            lowest_cash_cents=_cents(record.lowest_cash_cents),
            lowest_cash_week=record.lowest_cash_week or 0,
            lowest_cash_week_start=record.lowest_cash_week_start,
            lowest_daily_cents=_cents(record.lowest_daily_cents),
            lowest_daily_date=record.lowest_daily_date,
            net_burn_4w_cents=_cents(record.net_burn_4w_cents),
            net_burn_13w_cents=_cents(record.net_burn_13w_cents),
            grid=_grid_rows(record),
            chart=build_chart(record.grid) if record.grid else None,
            ap=record.ap,
            ar=record.ar,
            hygiene_score=record.hygiene_score,
            issues_high=record.issues_high,
            issues_medium=record.issues_medium,
            issues_low=record.issues_low,
            decisions_waiting=record.decisions_waiting,
            top_decisions=record.top_decisions[:3],
            can_sync=connection.connected,
        )

    async def sync_status(
        self, business: BusinessContext, *, run_id: int | None = None, now: dt.datetime | None = None
    ) -> SyncStatusView:
        """The sync box; `run_id` is the run the page is watching, so it can tell when it finished."""
        now = now or dt.datetime.now(dt.UTC)
        state = await self.data_orchestrator.connection(business.id)
        sync = await self.data_orchestrator.sync_state(business.id, run_id)
        return sync_status_view(business.id, state, sync, now, watched_run=run_id)

    async def sync_now(self, business: BusinessContext, *, now: dt.datetime | None = None) -> SyncStatusView:
        """Queue a sync for the worker and show its progress.

        Raises:
            SyncUnavailableError: This process runs no QuickBooks sync.
        """
        now = now or dt.datetime.now(dt.UTC)
        state = await self.data_orchestrator.connection(business.id)
        message = None
        try:
            await self.data_orchestrator.request_sync(business.id)
        except NotConnectedError:
            message = (
                "QuickBooks needs to be connected again before Runway can sync."
                if state.status == "reconnect_needed"
                else "This business is not connected to QuickBooks."
            )
        sync = await self.data_orchestrator.sync_state(business.id)
        return sync_status_view(business.id, state, sync, now, message=message)

    async def grid_csv(self, business: BusinessContext, *, as_of: dt.date | None = None) -> CsvExport:
        """The 13-week grid as the report's columns, one row per week (amounts in integer cents)."""
        record = await self.data_orchestrator.figures(business.id, as_of=as_of, now=dt.datetime.now(dt.UTC))
        rows = tuple(
            (
                week.week,
                week.start.isoformat(),
                week.opening_cents,
                week.receipts_invoices_cents,
                week.receipts_baseline_cents,
                week.disbursements_bills_cents,
                week.disbursements_baseline_cents,
                week.net_change_cents,
                week.ending_cents,
            )
            for week in record.grid
        )
        return CsvExport(
            f"runway-13-weeks-{business.id}-{record.as_of.isoformat()}.csv", GRID_CSV_HEADER, rows
        )
