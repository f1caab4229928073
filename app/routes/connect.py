"""Web layer: Connect QuickBooks — the choices, the start of the OAuth flow (a redirect to QuickBooks'
consent page), the callback, and "Disconnect".

The flow starts with a plain link (GET): the page's `form-action 'self'` policy would stop a form post that
redirects to QuickBooks' host, and the state it records is bound to the signed-in user and used once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException, ServiceUnavailableException
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Template

from app.htmx import render
from domains.core.db import Database
from runway.services.data_orchestrators.onboarding_data_orchestrator import OnboardingDataOrchestrator
from runway.services.experiences.business_list import BusinessContext
from runway.services.experiences.onboarding import (
    ConnectFailedError,
    ConnectUnavailableError,
    NotAllowedError,
    NotFoundError,
    OnboardingService,
)
from runway.services.experiences.sign_in import CurrentUser


@dataclass(frozen=True, slots=True)
class ConnectFailureView:
    message: str
    retry_href: str


def provide_onboarding(state: State, database: NamedDependency[Database]) -> OnboardingService:
    return OnboardingService(OnboardingDataOrchestrator(database, state.get("smart_sync")))


@get("/connect", name="connect:options")
async def connect_options(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    onboarding: NamedDependency[OnboardingService],
) -> Template:
    """Add a client (firm staff) or connect a business you own."""
    view = await onboarding.options(user.id)
    return render(
        request, page="pages/connect.html", partial="onboarding/_connect_options.html", view=view, user=user
    )


@get("/connect/qbo/start", name="connect:start")
async def connect_start(
    user: NamedDependency[CurrentUser],
    onboarding: NamedDependency[OnboardingService],
    target_business: Annotated[int | None, QueryParameter(name="business")] = None,
    target_firm: Annotated[int | None, QueryParameter(name="firm")] = None,
) -> Redirect:
    """Record a single-use state and send the browser to QuickBooks' consent page.

    `?business=<id>` connects (or reconnects) that business; `?firm=<id>` adds a client to that firm;
    neither adds a business the user owns.
    """
    try:
        url = await onboarding.begin(user.id, business_id=target_business, firm_id=target_firm)
    except NotFoundError:
        raise NotFoundException("No such business.") from None
    except NotAllowedError as exc:
        raise PermissionDeniedException(str(exc)) from exc
    except ConnectUnavailableError as exc:
        raise ServiceUnavailableException(str(exc)) from exc
    return Redirect(path=url, status_code=303)


@get("/connect/qbo/callback", name="connect:callback")
async def connect_callback(
    request: Request[Any, Any, Any],
    user: NamedDependency[CurrentUser],
    onboarding: NamedDependency[OnboardingService],
    oauth_state: Annotated[str | None, QueryParameter(name="state")] = None,
    code: FromQuery[str | None] = None,
    error: FromQuery[str | None] = None,
    error_description: FromQuery[str | None] = None,
) -> Template | Redirect:
    """QuickBooks sends the browser back here; on success the dashboard shows the first sync's progress."""
    # QuickBooks names the company `realmId`; `state` is a name Litestar reserves, hence the alias above.
    realm = request.query_params.get("realmId")
    try:
        result = await onboarding.complete(
            user.id,
            state=oauth_state,
            code=code,
            realm_id=realm,
            error=error,
            error_description=error_description,
        )
    except ConnectFailedError as exc:
        view = ConnectFailureView(exc.message, exc.retry_href)
        return render(request, page="pages/connect_failed.html", view=view, user=user, status_code=400)
    except ConnectUnavailableError as exc:
        raise ServiceUnavailableException(str(exc)) from exc
    return Redirect(path=f"/b/{result.business_id}", status_code=303)


@post("/b/{business_id:int}/disconnect", name="connect:disconnect", status_code=303)
async def disconnect(
    user: NamedDependency[CurrentUser],
    business: NamedDependency[BusinessContext],
    onboarding: NamedDependency[OnboardingService],
) -> Redirect:
    """Revoke the business's QuickBooks tokens; its synced numbers stay until it is connected again."""
    try:
        await onboarding.disconnect(user.id, business.id)
    except NotFoundError:
        raise NotFoundException("No such business.") from None
    except NotAllowedError as exc:
        raise PermissionDeniedException(str(exc)) from exc
    except ConnectUnavailableError as exc:
        raise ServiceUnavailableException(str(exc)) from exc
    return Redirect(path=f"/b/{business.id}", status_code=303)


ROUTES: list[Any] = [connect_options, connect_start, connect_callback, disconnect]
DEPENDENCIES: dict[str, Provide] = {"onboarding": Provide(provide_onboarding, sync_to_thread=False)}
