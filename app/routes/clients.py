"""Web layer: the client list (/clients), the home of firm staff."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect, Template

from app.htmx import render
from domains.core.db import Database
from runway.services.data_orchestrators.client_list_data_orchestrator import ClientListDataOrchestrator
from runway.services.experiences.client_list import ClientListService
from runway.services.experiences.sign_in import CurrentUser


def provide_client_list(database: NamedDependency[Database]) -> ClientListService:
    return ClientListService(ClientListDataOrchestrator(database))


@get("/clients", name="clients:list")
async def client_list(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    client_list: NamedDependency[ClientListService],
) -> Template | Redirect:
    """Every client of the user's firms, shortest runway first; someone in no firm goes home."""
    view = await client_list.list_for(
        user.id, firms=[(firm.firm_id, firm.name, firm.role) for firm in user.firms]
    )
    if not view.is_firm_member:
        return Redirect(path="/", status_code=303)
    return render(
        request, page="pages/clients.html", partial="clients/_client_list.html", view=view, user=user
    )


ROUTES: list[Any] = [client_list]
DEPENDENCIES: dict[str, Provide] = {"client_list": Provide(provide_client_list, sync_to_thread=False)}
