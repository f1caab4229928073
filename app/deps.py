"""Web layer: dependency providers — the database, experience services, the signed-in user, the business."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from app.sessions import SESSION_USER_KEY, SIGNED_IN
from domains.core.db import Database
from runway.services.data_orchestrators.accounts_data_orchestrator import AccountsDataOrchestrator
from runway.services.data_orchestrators.business_list_data_orchestrator import BusinessListDataOrchestrator
from runway.services.data_orchestrators.runway_report_data_orchestrator import RunwayReportDataOrchestrator
from runway.services.data_orchestrators.sync_data_orchestrator import SyncDataOrchestrator
from runway.services.experiences.business_list import (
    BusinessContext,
    BusinessListService,
    BusinessNotFoundError,
)
from runway.services.experiences.sign_in import CurrentUser, SignedInSession, SignInService
from runway.services.experiences.sync import SyncService

# request.state key: the business the URL names as resolved with the user (None: not this user's).
_RESOLVED_BUSINESS = "runway_resolved_business"


class LoginRequiredError(Exception):
    """The request needs a signed-in user and has none; answered with a redirect to the login page."""


def provide_database(state: State) -> Database:
    return state.database


def provide_sign_in(database: NamedDependency[Database]) -> SignInService:
    return SignInService(AccountsDataOrchestrator(database))


def provide_sync(state: State, database: NamedDependency[Database]) -> SyncService:
    settings = state.settings
    orchestrator = SyncDataOrchestrator(database, state.get("smart_sync"), settings.qbo_webhook_verifier)
    return SyncService(orchestrator, RunwayReportDataOrchestrator(database))


def provide_business_list(database: NamedDependency[Database]) -> BusinessListService:
    return BusinessListService(BusinessListDataOrchestrator(database))


async def provide_current_user(
    request: Request[Any, Any, Any], sign_in: NamedDependency[SignInService]
) -> CurrentUser:
    user_id = request.session.get(SESSION_USER_KEY) if request.scope.get("session") else None
    if not isinstance(user_id, int):
        raise LoginRequiredError
    business_id = request.path_params.get("business_id")
    named = business_id if isinstance(business_id, int) else None
    signed_in: SignedInSession | None = request.scope.get("state", {}).get(SIGNED_IN)
    if signed_in is not None and signed_in.user_id == user_id and signed_in.business_id == named:
        # Read with the session itself (see RotatingSessionBackend.load_from_connection).
        user = signed_in.user
        if named is not None:
            request.state[_RESOLVED_BUSINESS] = signed_in.business
    elif named is not None:
        # A business page: the user and the business in one read.
        user, business = await sign_in.current_user_at(user_id, named)
        request.state[_RESOLVED_BUSINESS] = business
    else:
        user = await sign_in.current_user(user_id)
    if user is None:
        # The account was removed or deactivated since this session began.
        request.clear_session()
        raise LoginRequiredError
    structlog.contextvars.bind_contextvars(user_id=user.id)
    return user


async def provide_business(
    request: Request[Any, Any, Any],
    business_id: FromPath[int],
    user: NamedDependency[CurrentUser],
    business_list: NamedDependency[BusinessListService],
) -> BusinessContext:
    """The business named in the URL, if this user may see it; 404 otherwise (never 403)."""
    business: BusinessContext | None
    if _RESOLVED_BUSINESS in request.state:
        business = request.state[_RESOLVED_BUSINESS]
    else:
        try:
            business = await business_list.resolve(user.id, business_id)
        except BusinessNotFoundError:
            business = None
    if business is None or business.id != business_id:
        raise NotFoundException("No such business.")
    structlog.contextvars.bind_contextvars(business_id=business.id)
    return business


DEPENDENCIES = {
    "database": Provide(provide_database, sync_to_thread=False),
    "sign_in": Provide(provide_sign_in, sync_to_thread=False),
    "business_list": Provide(provide_business_list, sync_to_thread=False),
    "sync": Provide(provide_sync, sync_to_thread=False),
    "user": Provide(provide_current_user),
    "business": Provide(provide_business),
}
