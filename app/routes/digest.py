"""Web layer: the weekly digest pages — one business's (/b/<id>/digest) and a firm's (/firm/digest) — and
who receives them by e-mail."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.htmx import render, wants_partial
from domains.core.db import Database
from runway.services.data_orchestrators.digest_data_orchestrator import DigestDataOrchestrator
from runway.services.experiences.business_list import BusinessContext
from runway.services.experiences.digest import DigestService, NotAllowedError, NotFoundError, RecipientsPanel
from runway.services.experiences.sign_in import CurrentUser


def provide_digest(state: State, database: NamedDependency[Database]) -> DigestService:
    return DigestService(DigestDataOrchestrator(database), state.settings.public_url)


def _panel_response(
    request: Request[Any, Any, Any], panel: RecipientsPanel, back: str
) -> Template | Redirect:
    """The e-mail box for htmx; a redirect back to the digest for a plain form post."""
    status = 422 if panel.error else 200
    if wants_partial(request):
        return render(
            request,
            page="pages/digest.html",
            partial="digest/_recipients.html",
            panel=panel,
            status_code=status,
        )
    return Redirect(path=back, status_code=303)


async def _form_email(request: Request[Any, Any, Any]) -> str:
    form = await request.form()
    return str(form.get("email") or "")[:400]


@get("/b/{business_id:int}/digest", name="digest:business")
async def business_digest(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    digest: NamedDependency[DigestService],
) -> Template:
    """This week's digest of one business: the first of a client's three tabs."""
    view = await digest.business_digest(business.id, role=business.role)
    return render(
        request, page="pages/digest.html", partial="digest/_business_digest.html", view=view, user=user
    )


@post("/b/{business_id:int}/digest/recipients", name="digest:business_add_recipient", status_code=200)
async def add_business_recipient(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    digest: NamedDependency[DigestService],
) -> Template | Redirect:
    try:
        panel = await digest.add_business_recipient(
            business.id, business.role, user.id, await _form_email(request)
        )
    except NotAllowedError as exc:
        raise PermissionDeniedException(str(exc)) from exc
    return _panel_response(request, panel, f"/b/{business.id}/digest")


@post(
    "/b/{business_id:int}/digest/recipients/{recipient_id:int}/delete",
    name="digest:business_remove_recipient",
    status_code=200,
)
async def remove_business_recipient(
    request: Request[Any, Any, Any],
    business: NamedDependency[BusinessContext],
    digest: NamedDependency[DigestService],
    recipient_id: FromPath[int],
) -> Template | Redirect:
    try:
        panel = await digest.remove_business_recipient(business.id, business.role, recipient_id)
    except NotAllowedError as exc:
        raise PermissionDeniedException(str(exc)) from exc
    return _panel_response(request, panel, f"/b/{business.id}/digest")


@get("/firm/digest", name="digest:firm")
async def firm_digest(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    digest: NamedDependency[DigestService],
    firm: FromQuery[int | None] = None,
) -> Template:
    """This week's digest of the user's firm (or of `firm`, one of theirs): every client's week."""
    try:
        view = await digest.firm_digest_for(user.id, firm)
    except NotFoundError:
        raise NotFoundException("No such firm.") from None
    return render(
        request, page="pages/firm_digest.html", partial="digest/_firm_digest.html", view=view, user=user
    )


@post("/firm/{firm_id:int}/digest/recipients", name="digest:firm_add_recipient", status_code=200)
async def add_firm_recipient(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    digest: NamedDependency[DigestService],
    firm_id: FromPath[int],
) -> Template | Redirect:
    try:
        panel = await digest.add_firm_recipient(user.id, firm_id, await _form_email(request))
    except NotFoundError:
        raise NotFoundException("No such firm.") from None
    except NotAllowedError as exc:
        raise PermissionDeniedException(str(exc)) from exc
    return _panel_response(request, panel, f"/firm/digest?firm={firm_id}")


@post(
    "/firm/{firm_id:int}/digest/recipients/{recipient_id:int}/delete",
    name="digest:firm_remove_recipient",
    status_code=200,
)
async def remove_firm_recipient(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    digest: NamedDependency[DigestService],
    firm_id: FromPath[int],
    recipient_id: FromPath[int],
) -> Template | Redirect:
    try:
        panel = await digest.remove_firm_recipient(user.id, firm_id, recipient_id)
    except NotFoundError:
        raise NotFoundException("No such firm.") from None
    except NotAllowedError as exc:
        raise PermissionDeniedException(str(exc)) from exc
    return _panel_response(request, panel, f"/firm/digest?firm={firm_id}")


ROUTES: list[Any] = [
    business_digest,
    add_business_recipient,
    remove_business_recipient,
    firm_digest,
    add_firm_recipient,
    remove_firm_recipient,
]
DEPENDENCIES: dict[str, Provide] = {"digest": Provide(provide_digest, sync_to_thread=False)}
