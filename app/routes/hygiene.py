"""Web layer: the Hygiene Tray screens — per business and per firm, triage actions, fixes, CSV export."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from app.htmx import VARY, render, wants_partial
from domains.core.db import Database
from runway.services.data_orchestrators.hygiene_tray_data_orchestrator import HygieneTrayDataOrchestrator
from runway.services.experiences.business_list import BusinessContext
from runway.services.experiences.hygiene_tray import (
    NO_ID,
    ActionResult,
    FixConflictError,
    FixFailedError,
    FixInputError,
    FixUndoFailedError,
    HygieneTrayService,
    IssueNotFoundError,
    QboLinkStyle,
    TrayFilters,
    TriageNotAllowedError,
)
from runway.services.experiences.sign_in import CurrentUser

ISSUE = "/b/{business_id:int}/hygiene/issues/{rule:str}/{entity_type:str}/{qbo_id:str}"
PANELS = frozenset({"fix", "snooze", "delete"})


def provide_hygiene(state: State, database: NamedDependency[Database]) -> HygieneTrayService:
    settings = state.settings
    style: QboLinkStyle = "local_sandbox"
    if not settings.sandbox_mode:
        style = "intuit_sandbox" if settings.qbo_environment == "sandbox" else "intuit"
    orchestrator = HygieneTrayDataOrchestrator(database, state.get("smart_sync"))
    return HygieneTrayService(orchestrator, qbo_links=style)


def _filters(
    rule: str | None,
    severity: str | None,
    sort: str | None,
    client: str | None,
    page: str | None,
    firm: str | None,
) -> TrayFilters:
    return TrayFilters.parse(rule=rule, severity=severity, sort=sort, client=client, page=page, firm=firm)


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    data = await request.form()
    return {key: str(value)[:500] for key, value in data.items() if isinstance(value, str)}


def _scope(form: dict[str, str]) -> str:
    return "firm" if form.get("scope") == "firm" else "business"


def _key(rule: str, entity_type: str, qbo_id: str) -> tuple[str, str, str]:
    return (rule, entity_type, "" if qbo_id == NO_ID else qbo_id)


def _action_response(request: Request[Any, Any, Any], result: ActionResult, user: CurrentUser) -> Template:
    page = (
        "pages/hygiene_firm.html"
        if result.page is not None and result.page.scope == "firm"
        else "pages/hygiene.html"
    )
    return render(
        request,
        page=page,
        partial="hygiene/_issue_swap.html",
        view=result.page,
        row=result.row,
        counters=result.counters,
        user=user,
    )


def _row_response(
    request: Request[Any, Any, Any],
    error: FixInputError | FixFailedError | FixConflictError,
    user: CurrentUser,
    status: int,
) -> Template:
    return render(
        request,
        page="pages/hygiene_issue.html",
        partial="hygiene/_issue_swap.html",
        view=error.row,
        row=error.row,
        counters=error.counters,
        user=user,
        status_code=status,
    )


async def _guarded(request: Request[Any, Any, Any], user: CurrentUser, work: Any) -> Template:
    """Run an action; map the experience's errors to 404, 403 and the inline 422/409/502 row fragments."""
    try:
        result: ActionResult = await work
    except IssueNotFoundError:
        raise NotFoundException("No such issue.") from None
    except TriageNotAllowedError as exc:
        raise PermissionDeniedException(str(exc)) from None
    except FixInputError as exc:
        return _row_response(request, exc, user, 422)
    except FixConflictError as exc:
        return _row_response(request, exc, user, 409)
    except FixFailedError as exc:
        return _row_response(request, exc, user, 502)
    except FixUndoFailedError as exc:
        raise HTTPException(status_code=409, detail=f"Could not undo: {exc}") from None
    return _action_response(request, result, user)


@get("/b/{business_id:int}/hygiene", name="hygiene:tray")
async def business_tray(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    hygiene: NamedDependency[HygieneTrayService],
    rule: FromQuery[str | None] = None,
    severity: FromQuery[str | None] = None,
    sort: FromQuery[str | None] = None,
    page: FromQuery[str | None] = None,
) -> Template:
    """A business's tray: issues grouped by severity, score and counters in the header."""
    view = await hygiene.tray(business, _filters(rule, severity, sort, None, page, None))
    return render(
        request, page="pages/hygiene.html", partial="hygiene/_tray_refresh.html", view=view, user=user
    )


@get("/b/{business_id:int}/hygiene.csv", name="hygiene:csv")
async def business_csv(
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    hygiene: NamedDependency[HygieneTrayService],
    rule: FromQuery[str | None] = None,
    severity: FromQuery[str | None] = None,
    sort: FromQuery[str | None] = None,
) -> Response[str]:
    """The business's open issues as CSV."""
    export = await hygiene.export_csv(business, user, _filters(rule, severity, sort, None, None, None))
    return _csv(export.filename, export.text)


@get("/b/{business_id:int}/hygiene/poll", name="hygiene:poll")
async def business_poll(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    hygiene: NamedDependency[HygieneTrayService],
    marker: FromQuery[str] = "",
    rule: FromQuery[str | None] = None,
    severity: FromQuery[str | None] = None,
    sort: FromQuery[str | None] = None,
    page: FromQuery[str | None] = None,
) -> Template | Response[None]:
    """204 while nothing changed; the refreshed tray (and counters) after a sync or someone's triage."""
    view = await hygiene.poll(business, _filters(rule, severity, sort, None, page, None), marker)
    if view is None:
        return Response(content=None, status_code=204, headers={"Vary": VARY})
    return render(
        request, page="pages/hygiene.html", partial="hygiene/_tray_refresh.html", view=view, user=user
    )


@get(ISSUE, name="hygiene:issue")
async def issue_row(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    hygiene: NamedDependency[HygieneTrayService],
    rule: FromPath[str],
    entity_type: FromPath[str],
    qbo_id: FromPath[str],
    panel: FromQuery[str | None] = None,
    tray: FromQuery[str | None] = None,
    q: FromQuery[str] = "",
) -> Template:
    """One issue's row, optionally with its inline fix/snooze/delete panel (a page of its own without JS)."""
    try:
        row = await hygiene.issue_row(
            business,
            _key(rule, entity_type, qbo_id),
            panel if panel in PANELS else None,
            scope="firm" if tray == "firm" else "business",
            filters=TrayFilters.from_query(q),
        )
    except IssueNotFoundError:
        raise NotFoundException("No such issue.") from None
    except TriageNotAllowedError as exc:
        raise PermissionDeniedException(str(exc)) from None
    return render(
        request, page="pages/hygiene_issue.html", partial="hygiene/_issue.html", view=row, row=row, user=user
    )


@get(f"{ISSUE}/preview", name="hygiene:preview")
async def issue_preview(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    hygiene: NamedDependency[HygieneTrayService],
    rule: FromPath[str],
    entity_type: FromPath[str],
    qbo_id: FromPath[str],
) -> Template:
    """The runway delta of the fix as currently filled in (the form asks again when a value changes)."""
    form = {key: str(value)[:100] for key, value in request.query_params.items()}
    try:
        row = await hygiene.preview(business, _key(rule, entity_type, qbo_id), form)
    except IssueNotFoundError:
        raise NotFoundException("No such issue.") from None
    return render(
        request, page="pages/hygiene_issue.html", partial="hygiene/_impact.html", view=row, row=row, user=user
    )


@post(f"{ISSUE}/fix", name="hygiene:fix")
async def issue_fix(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    hygiene: NamedDependency[HygieneTrayService],
    rule: FromPath[str],
    entity_type: FromPath[str],
    qbo_id: FromPath[str],
) -> Template:
    """Apply the issue's fix (written to QuickBooks for QBO fixes)."""
    form = await _form(request)
    work = hygiene.fix(
        business,
        user,
        _key(rule, entity_type, qbo_id),
        form,
        scope=_scope(form),
        filters=TrayFilters.from_query(form.get("q", "")),
        want_page=not wants_partial(request),
    )
    return await _guarded(request, user, work)


@post(f"{ISSUE}/dismiss", name="hygiene:dismiss")
async def issue_dismiss(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    hygiene: NamedDependency[HygieneTrayService],
    rule: FromPath[str],
    entity_type: FromPath[str],
    qbo_id: FromPath[str],
) -> Template:
    """ "Not an issue" — remembered until the issue's fields change."""
    form = await _form(request)
    work = hygiene.dismiss(
        business,
        user,
        _key(rule, entity_type, qbo_id),
        scope=_scope(form),
        filters=TrayFilters.from_query(form.get("q", "")),
        want_page=not wants_partial(request),
    )
    return await _guarded(request, user, work)


@post(f"{ISSUE}/snooze", name="hygiene:snooze")
async def issue_snooze(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    hygiene: NamedDependency[HygieneTrayService],
    rule: FromPath[str],
    entity_type: FromPath[str],
    qbo_id: FromPath[str],
) -> Template:
    """Snooze for a preset number of days or until a date."""
    form = await _form(request)
    work = hygiene.snooze(
        business,
        user,
        _key(rule, entity_type, qbo_id),
        form,
        scope=_scope(form),
        filters=TrayFilters.from_query(form.get("q", "")),
        want_page=not wants_partial(request),
    )
    return await _guarded(request, user, work)


@post(f"{ISSUE}/reopen", name="hygiene:reopen")
async def issue_reopen(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    hygiene: NamedDependency[HygieneTrayService],
    rule: FromPath[str],
    entity_type: FromPath[str],
    qbo_id: FromPath[str],
) -> Template:
    """Undo a dismissal or a snooze."""
    form = await _form(request)
    work = hygiene.reopen(
        business,
        user,
        _key(rule, entity_type, qbo_id),
        scope=_scope(form),
        filters=TrayFilters.from_query(form.get("q", "")),
        want_page=not wants_partial(request),
    )
    return await _guarded(request, user, work)


@post("/b/{business_id:int}/hygiene/fixes/{fix_id:int}/undo", name="hygiene:undo_fix")
async def fix_undo(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    hygiene: NamedDependency[HygieneTrayService],
    fix_id: FromPath[int],
) -> Template:
    """Undo a fix in QuickBooks where QuickBooks allows it."""
    form = await _form(request)
    work = hygiene.undo_fix(
        business,
        user,
        fix_id,
        scope=_scope(form),
        filters=TrayFilters.from_query(form.get("q", "")),
        want_page=not wants_partial(request),
    )
    return await _guarded(request, user, work)


@get("/firm/hygiene", name="hygiene:firm")
async def firm_tray(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    hygiene: NamedDependency[HygieneTrayService],
    firm: FromQuery[str | None] = None,
    client: FromQuery[str | None] = None,
    rule: FromQuery[str | None] = None,
    severity: FromQuery[str | None] = None,
    sort: FromQuery[str | None] = None,
    page: FromQuery[str | None] = None,
) -> Template:
    """Every client of the firm in one tray, with a client filter (firm staff only)."""
    try:
        view = await hygiene.firm_tray(user, _filters(rule, severity, sort, client, page, firm))
    except TriageNotAllowedError as exc:
        raise PermissionDeniedException(str(exc)) from None
    except IssueNotFoundError:
        raise NotFoundException("No such firm.") from None
    return render(
        request, page="pages/hygiene_firm.html", partial="hygiene/_tray_refresh.html", view=view, user=user
    )


@get("/firm/hygiene.csv", name="hygiene:firm_csv")
async def firm_csv(
    user: NamedDependency[CurrentUser],
    hygiene: NamedDependency[HygieneTrayService],
    firm: FromQuery[str | None] = None,
    client: FromQuery[str | None] = None,
    rule: FromQuery[str | None] = None,
    severity: FromQuery[str | None] = None,
    sort: FromQuery[str | None] = None,
) -> Response[str]:
    """The firm's open issues as CSV, one line per issue naming its client."""
    try:
        export = await hygiene.export_csv(None, user, _filters(rule, severity, sort, client, None, firm))
    except TriageNotAllowedError as exc:
        raise PermissionDeniedException(str(exc)) from None
    except IssueNotFoundError:
        raise NotFoundException("No such firm.") from None
    return _csv(export.filename, export.text)


@get("/firm/hygiene/poll", name="hygiene:firm_poll")
async def firm_poll(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    hygiene: NamedDependency[HygieneTrayService],
    marker: FromQuery[str] = "",
    firm: FromQuery[str | None] = None,
    client: FromQuery[str | None] = None,
    rule: FromQuery[str | None] = None,
    severity: FromQuery[str | None] = None,
    sort: FromQuery[str | None] = None,
    page: FromQuery[str | None] = None,
) -> Template | Response[None]:
    """204 while no client's books or triage changed; the refreshed firm tray otherwise."""
    try:
        view = await hygiene.firm_poll(user, _filters(rule, severity, sort, client, page, firm), marker)
    except TriageNotAllowedError as exc:
        raise PermissionDeniedException(str(exc)) from None
    except IssueNotFoundError:
        raise NotFoundException("No such firm.") from None
    if view is None:
        return Response(content=None, status_code=204, headers={"Vary": VARY})
    return render(
        request, page="pages/hygiene_firm.html", partial="hygiene/_tray_refresh.html", view=view, user=user
    )


def _csv(filename: str, text: str) -> Response[str]:
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


ROUTES: list[Any] = [
    business_tray,
    business_csv,
    business_poll,
    issue_row,
    issue_preview,
    issue_fix,
    issue_dismiss,
    issue_snooze,
    issue_reopen,
    fix_undo,
    firm_tray,
    firm_csv,
    firm_poll,
]
DEPENDENCIES: dict[str, Provide] = {"hygiene": Provide(provide_hygiene, sync_to_thread=False)}
