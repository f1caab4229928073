"""Web layer: the runway dashboard's parts — the sync box ("sync now" and its progress), the 13-week CSV
export and the "reconnect QuickBooks" banner. The dashboard page itself is `business:home` (home.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ServiceUnavailableException
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from app.htmx import render, wants_partial
from domains.core.db import Database
from runway.services.data_orchestrators.runway_dashboard_data_orchestrator import (
    RunwayDashboardDataOrchestrator,
)
from runway.services.experiences.business_list import BusinessContext
from runway.services.experiences.runway_dashboard import RunwayDashboardService, SyncUnavailableError
from runway.services.experiences.sign_in import CurrentUser

SYNC_FINISHED_EVENT = "runway-synced"


def provide_dashboard(state: State, database: NamedDependency[Database]) -> RunwayDashboardService:
    return RunwayDashboardService(RunwayDashboardDataOrchestrator(database, state.get("smart_sync")))


@get("/b/{business_id:int}/sync", name="dashboard:sync_status")
async def sync_status(
    request: Request[Any, Any, Any],
    business: NamedDependency[BusinessContext],
    dashboard: NamedDependency[RunwayDashboardService],
    run: FromQuery[int | None] = None,
) -> Template | Redirect:
    """The sync box, polled while a run is active; tells the page to reload its numbers when it ends."""
    if not wants_partial(request):
        return Redirect(path=f"/b/{business.id}", status_code=303)
    view = await dashboard.sync_status(business, run_id=run)
    headers = {"HX-Trigger-After-Settle": SYNC_FINISHED_EVENT} if view.just_finished else None
    return render(
        request,
        page="pages/business.html",
        partial="dashboard/_sync_status.html",
        view=view,
        sync=view,
        headers=headers,
    )


@post("/b/{business_id:int}/sync", name="dashboard:sync_now", status_code=200)
async def sync_now(
    request: Request[Any, Any, Any],
    business: NamedDependency[BusinessContext],
    dashboard: NamedDependency[RunwayDashboardService],
) -> Template | Redirect:
    """Queue a sync for the worker (joining one already queued) and show its progress."""
    try:
        view = await dashboard.sync_now(business)
    except SyncUnavailableError as exc:
        raise ServiceUnavailableException(str(exc)) from exc
    if not wants_partial(request):
        return Redirect(path=f"/b/{business.id}", status_code=303)
    return render(
        request, page="pages/business.html", partial="dashboard/_sync_status.html", view=view, sync=view
    )


@get("/b/{business_id:int}/grid.csv", name="dashboard:grid_csv")
async def grid_csv(
    business: NamedDependency[BusinessContext],
    dashboard: NamedDependency[RunwayDashboardService],
    as_of: FromQuery[dt.date | None] = None,
) -> Response[str]:
    """The 13-week grid as CSV: the report's columns, amounts in integer cents."""
    export = await dashboard.grid_csv(business, as_of=as_of)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(export.header)
    writer.writerows(export.rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


@get("/b/{business_id:int}/connection", name="dashboard:connection")
async def connection_banner(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    dashboard: NamedDependency[RunwayDashboardService],
) -> Template | Redirect:
    """The "reconnect QuickBooks" banner, loaded into every page about this business."""
    if not wants_partial(request):
        return Redirect(path=f"/b/{business.id}", status_code=303)
    view = await dashboard.connection(business)
    return render(
        request,
        page="pages/business.html",
        partial="dashboard/_connection_banner.html",
        view=view,
        connection=view,
        user=user,
    )


ROUTES: list[Any] = [sync_status, sync_now, grid_csv, connection_banner]
DEPENDENCIES: dict[str, Provide] = {"dashboard": Provide(provide_dashboard, sync_to_thread=False)}
