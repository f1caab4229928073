"""Web layer: the home page (firm staff go to their client list, an owner of one business to its
dashboard, everyone else sees "Your businesses") and a business's runway dashboard."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from app.htmx import render, wants_partial
from runway.services.experiences.business_list import BusinessContext, BusinessListService
from runway.services.experiences.runway_dashboard import RunwayDashboardService
from runway.services.experiences.sign_in import CurrentUser


@get("/", name="home:businesses")
async def businesses(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business_list: NamedDependency[BusinessListService],
) -> Template | Redirect:
    """Every business this user can open: the firm's clients, or the businesses they own.

    As a landing page it sends firm staff to /clients and an owner of exactly one business to its
    dashboard; an htmx request for the fragment always gets the list.
    """
    view = await business_list.list_for(user.id)
    if not wants_partial(request):
        if user.is_firm_member:
            return Redirect(path="/clients", status_code=303)
        if len(view.rows) == 1:
            return Redirect(path=f"/b/{view.rows[0].id}", status_code=303)
    return render(
        request, page="pages/businesses.html", partial="home/_business_list.html", view=view, user=user
    )


@get("/b/{business_id:int}", name="business:home")
async def business_home(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    dashboard: NamedDependency[RunwayDashboardService],
    as_of: FromQuery[dt.date | None] = None,
) -> Template:
    """The runway dashboard: cash, runway, the 13-week forecast, aging, hygiene, decisions, sync."""
    view = await dashboard.dashboard(business, as_of=as_of)
    return render(
        request, page="pages/business.html", partial="dashboard/_dashboard.html", view=view, user=user
    )
