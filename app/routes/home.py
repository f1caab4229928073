"""Web layer: "Your businesses" and a business's home page."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from app.htmx import render
from runway.services.experiences.business_list import BusinessContext, BusinessListService
from runway.services.experiences.sign_in import CurrentUser


@get("/", name="home:businesses")
async def businesses(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business_list: NamedDependency[BusinessListService],
) -> Template:
    """Every business this user can open: the firm's clients, or the businesses they own."""
    view = await business_list.list_for(user.id)
    return render(
        request, page="pages/businesses.html", partial="home/_business_list.html", view=view, user=user
    )


@get("/b/{business_id:int}", name="business:home")
async def business_home(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
) -> Template:
    """A business's home page."""
    return render(request, page="pages/business.html", view=business, user=user)
