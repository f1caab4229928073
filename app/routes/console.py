"""Web layer: the Decision Console screens — the queue, one keypress per request, finalize, the CSV log.

Each handler parses, calls one `DecisionConsoleService` method and renders one template. Keypresses
answer htmx with the item's row plus the header and counters out of band; a stale write answers 409 with
the item as it is now. Every form also works without JavaScript (a plain POST, then a redirect back).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.htmx import render, wants_partial
from domains.core.db import Database
from runway.services.data_orchestrators.decision_console_data_orchestrator import (
    DecisionConsoleDataOrchestrator,
)
from runway.services.experiences.business_list import BusinessContext
from runway.services.experiences.decision_console import (
    ConsoleConflictError,
    ConsoleForbiddenError,
    ConsoleInputError,
    ConsoleNotFoundError,
    DecisionConsoleService,
)
from runway.services.experiences.sign_in import CurrentUser

T = TypeVar("T")
ENTITY_TYPES = ("bill", "invoice")
# Form fields a keypress may send; anything else is ignored.
DECISION_FIELDS = ("seen", "on", "preset", "bank_account", "add_note")


def provide_decision_console(state: State, database: NamedDependency[Database]) -> DecisionConsoleService:
    return DecisionConsoleService(DecisionConsoleDataOrchestrator(database, state.get("smart_sync")))


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    """Run one service call, turning its refusals into HTTP errors (409s are rendered by the caller)."""
    try:
        return await work()
    except ConsoleForbiddenError as exc:
        raise PermissionDeniedException(str(exc)) from None
    except ConsoleInputError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    except ConsoleNotFoundError:
        raise NotFoundException("No such item.") from None


def _entity(entity_type: str) -> str:
    if entity_type not in ENTITY_TYPES:
        raise NotFoundException("No such item.")
    return entity_type


def _back(business_id: int, suffix: str = "") -> Redirect:
    return Redirect(path=f"/b/{business_id}/console{suffix}", status_code=303)


@get("/b/{business_id:int}/console", name="console:page")
async def console_page(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    decision_console: NamedDependency[DecisionConsoleService],
    finalized: FromQuery[int | None] = None,
) -> Template:
    """The Decision Console of one business (with a finalize's results after finalize without JavaScript)."""
    view = await _call(lambda: decision_console.console(business, user, finalized=finalized))
    return render(request, page="pages/console.html", view=view, user=user)


@get("/b/{business_id:int}/console/items/{entity_type:str}/{qbo_id:str}", name="console:item")
async def console_item(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    decision_console: NamedDependency[DecisionConsoleService],
    entity_type: FromPath[str],
    qbo_id: FromPath[str],
) -> Template:
    """The detail panel of one item (htmx), or the console with that panel open."""
    kind = _entity(entity_type)
    if wants_partial(request):
        detail = await _call(lambda: decision_console.detail(business, user, kind, qbo_id))
        return render(request, page="pages/console.html", partial="console/_detail.html", view=detail)
    view = await _call(lambda: decision_console.console(business, user, focus=(kind, qbo_id)))
    return render(request, page="pages/console.html", view=view, user=user)


@get("/b/{business_id:int}/console/items/{entity_type:str}/{qbo_id:str}/form/{verb:str}", name="console:form")
async def console_form(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    decision_console: NamedDependency[DecisionConsoleService],
    entity_type: FromPath[str],
    qbo_id: FromPath[str],
    verb: FromPath[str],
) -> Template:
    """The item's row with the inline form of a verb (p, s, d), or back to the plain row ("view")."""
    kind = _entity(entity_type)
    try:
        if wants_partial(request):
            row = await _call(lambda: decision_console.form(business, user, kind, qbo_id, verb))
            return render(request, page="pages/console.html", partial="console/_item.html", view=row)
        view = await _call(
            lambda: decision_console.console(
                business, user, focus=(kind, qbo_id), form=None if verb == "view" else verb
            )
        )
    except ConsoleConflictError as conflict:
        return _conflict(request, conflict)
    return render(request, page="pages/console.html", view=view, user=user)


@post("/b/{business_id:int}/console/items/{entity_type:str}/{qbo_id:str}", name="console:decide")
async def console_decide(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    decision_console: NamedDependency[DecisionConsoleService],
    entity_type: FromPath[str],
    qbo_id: FromPath[str],
) -> Template | Redirect:
    """One keypress: pay now, schedule, delay, chase, skip or approve one item."""
    kind = _entity(entity_type)
    form = await request.form()
    action = str(form.get("action") or "").strip()
    values = {name: str(form.get(name) or "") for name in DECISION_FIELDS}
    if not action:
        raise HTTPException(
            status_code=422, detail="Say what to do with this item (pay, schedule, delay...)."
        )
    try:
        view = await _call(lambda: decision_console.decide(business, user, kind, qbo_id, action, values))
    except ConsoleConflictError as conflict:
        return _conflict(request, conflict)
    if not wants_partial(request):
        return _back(business.id, f"#item-{kind}-{qbo_id}")
    return render(request, page="pages/console.html", partial="console/_keypress.html", view=view)


@post("/b/{business_id:int}/console/undo", name="console:undo")
async def console_undo(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    decision_console: NamedDependency[DecisionConsoleService],
) -> Template | Redirect:
    """Undo this user's last decision that has not been finalized."""
    view = await _call(lambda: decision_console.undo(business, user))
    if not wants_partial(request):
        return _back(business.id)
    return render(
        request, page="pages/console.html", partial="console/_keypress.html", view=view, oob_row=True
    )


@post("/b/{business_id:int}/console/finalize", name="console:finalize")
async def console_finalize(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    decision_console: NamedDependency[DecisionConsoleService],
) -> Template | Redirect:
    """Start finalize (htmx then runs it one item per request, showing progress), or run it all (no JS)."""
    if not wants_partial(request):
        done = await _call(lambda: decision_console.finalize(business, user))
        return _back(business.id, f"?finalized={done.batch_id}" if done is not None else "")
    view = await _call(lambda: decision_console.start_finalize(business, user))
    return render(
        request,
        page="pages/console.html",
        partial="console/_finalize.html",
        view=view,
        business_id=business.id,
        autostep=True,
        finalize_message=None
        if view is not None
        else "Nothing is approved yet: approve decisions (a), then F.",
    )


@post("/b/{business_id:int}/console/finalize/{batch_id:int}/step", name="console:finalize_step")
async def console_finalize_step(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    decision_console: NamedDependency[DecisionConsoleService],
    batch_id: FromPath[int],
) -> Template | Redirect:
    """Execute the next decision of a finalize batch and show the progress."""
    view = await _call(lambda: decision_console.finalize_step(business, user, batch_id))
    if not wants_partial(request):
        return _back(business.id)
    return render(request, page="pages/console.html", partial="console/_finalize_step.html", view=view)


@get("/b/{business_id:int}/console/decisions.csv", name="console:log_csv")
async def console_log_csv(
    business: NamedDependency[BusinessContext],
    decision_console: NamedDependency[DecisionConsoleService],
) -> Response[str]:
    """The decision log of this business as CSV."""
    text = await _call(lambda: decision_console.decision_log_csv(business))
    filename = f"decisions-business-{business.id}.csv"
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@post("/b/{business_id:int}/console/vendors/{vendor_id:str}/critical", name="console:critical")
async def console_critical(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    decision_console: NamedDependency[DecisionConsoleService],
    vendor_id: FromPath[str],
) -> Redirect:
    """Flag or unflag a vendor as critical: its bills lead the queue."""
    form = await request.form()
    critical = str(form.get("critical") or "") == "1"
    await _call(lambda: decision_console.set_vendor_critical(business, user, vendor_id, critical=critical))
    return _back(business.id)


@post("/b/{business_id:int}/console/settings", name="console:settings")
async def console_settings(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    decision_console: NamedDependency[DecisionConsoleService],
) -> Redirect:
    """Change the pay run day used by "delay to the next pay run"."""
    form = await request.form()
    raw = str(form.get("pay_run_weekday") or "")
    await _call(lambda: decision_console.set_pay_run_weekday(business, user, raw))
    return _back(business.id)


def _conflict(request: Request[Any, Any, Any], conflict: ConsoleConflictError) -> Template:
    """409 with the item as it is now, swapped where the stale row was."""
    if not wants_partial(request):
        raise HTTPException(status_code=409, detail=f"Not saved: {conflict.reason}. Reload to see it now.")
    return render(
        request,
        page="pages/console.html",
        partial="console/_keypress.html",
        view=conflict.view,
        status_code=409,
    )


ROUTES: list[Any] = [
    console_page,
    console_item,
    console_form,
    console_decide,
    console_undo,
    console_finalize,
    console_finalize_step,
    console_log_csv,
    console_critical,
    console_settings,
]
DEPENDENCIES: dict[str, Provide] = {
    "decision_console": Provide(provide_decision_console, sync_to_thread=False),
}
