"""Experience: Connect QuickBooks — who may connect what, the OAuth authorization-code flow with its `state`
checked, the first sync, and disconnecting."""

from __future__ import annotations

from dataclasses import dataclass

from domains.core.permissions import Capability, can
from runway.services.data_orchestrators.onboarding_data_orchestrator import (
    ConnectUnavailableError,
    OnboardingDataOrchestrator,
    RealmTakenError,
    StartedFlow,
    TokenExchangeError,
    WrongCompanyError,
)

__all__ = [
    "ConnectFailedError",
    "ConnectOption",
    "ConnectPageView",
    "ConnectResult",
    "ConnectUnavailableError",
    "NotAllowedError",
    "NotFoundError",
    "OnboardingService",
]

ADD_CLIENT_ROLES = frozenset({"admin", "advisor"})
PROVIDER_ERRORS = {
    "access_denied": "The connection was cancelled on the QuickBooks page.",
    "invalid_scope": "QuickBooks did not grant access to the accounting data.",
    "unsupported_response_type": "QuickBooks did not accept the request.",
}


class NotAllowedError(Exception):
    """The user may see this but not do it (a viewer connecting, a bookkeeper adding a client)."""


class NotFoundError(LookupError):
    """No such business or firm for this user (answered 404, like any other tenant's object)."""


class ConnectFailedError(Exception):
    """The flow cannot finish; `message` says why in plain words, `retry_href` starts it again."""

    def __init__(self, message: str, retry_href: str = "/connect") -> None:
        super().__init__(message)
        self.message = message
        self.retry_href = retry_href


@dataclass(frozen=True, slots=True)
class ConnectOption:
    title: str
    description: str
    href: str


@dataclass(frozen=True, slots=True)
class ConnectPageView:
    options: tuple[ConnectOption, ...]


@dataclass(frozen=True, slots=True)
class ConnectResult:
    business_id: int
    run_id: int
    created: bool


def _retry_href(flow: StartedFlow | None) -> str:
    if flow is not None and flow.business_id is not None:
        return f"/connect/qbo/start?business={flow.business_id}"
    if flow is not None and flow.firm_id is not None:
        return f"/connect/qbo/start?firm={flow.firm_id}"
    return "/connect"


class OnboardingService:
    def __init__(self, orchestrator: OnboardingDataOrchestrator) -> None:
        self.data_orchestrator = orchestrator

    async def options(self, user_id: int) -> ConnectPageView:
        """What this user can connect: a new client for each firm they add clients to, or their own."""
        options = [
            ConnectOption(
                f"Add a client to {name}",
                f"Connect the client's QuickBooks company; it joins {name}'s client list.",
                f"/connect/qbo/start?firm={firm_id}",
            )
            for firm_id, name, role in await self.data_orchestrator.firm_roles(user_id)
            if role in ADD_CLIENT_ROLES
        ]
        options.append(
            ConnectOption(
                "Connect a business you own",
                "Connect your own company's QuickBooks; you become its owner in Runway.",
                "/connect/qbo/start",
            )
        )
        return ConnectPageView(tuple(options))

    async def begin(self, user_id: int, *, business_id: int | None = None, firm_id: int | None = None) -> str:
        """The URL of QuickBooks' consent page for a new flow bound to this user.

        Raises:
            NotFoundError: The business or firm is not this user's.
            NotAllowedError: The user's role does not allow connecting it.
            ConnectUnavailableError: QuickBooks is not available in this process.
        """
        if business_id is not None and firm_id is not None:
            raise NotFoundError("connect either a business or a new client, not both")
        if business_id is not None:
            access = await self.data_orchestrator.access_to(user_id, business_id)
            if access is None:
                raise NotFoundError(business_id)
            if not can(access.role, Capability.APPROVE):
                raise NotAllowedError("Only an owner, an advisor or an admin can connect QuickBooks.")
        if firm_id is not None:
            roles = {fid: role for fid, _, role in await self.data_orchestrator.firm_roles(user_id)}
            if firm_id not in roles:
                raise NotFoundError(firm_id)
            if roles[firm_id] not in ADD_CLIENT_ROLES:
                raise NotAllowedError("Only the firm's admins and advisors add clients.")
        return await self.data_orchestrator.begin(user_id, business_id=business_id, firm_id=firm_id)

    async def complete(
        self,
        user_id: int,
        *,
        state: str | None,
        code: str | None,
        realm_id: str | None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> ConnectResult:
        """Finish the flow QuickBooks redirected back with: check `state`, exchange the code, attach the
        company, start the first sync.

        Raises:
            ConnectFailedError: A missing, unknown, expired or reused `state`; an error from QuickBooks; a
                refused code; a company already connected elsewhere.
        """
        if not state:
            raise ConnectFailedError("The answer from QuickBooks carried no state, so it cannot be trusted.")
        flow = await self.data_orchestrator.consume_state(user_id, state[:64])
        if flow is None:
            raise ConnectFailedError(
                "This connection link is not valid any more: it was already used, it expired, or it was "
                "started by someone else. Start again."
            )
        retry = _retry_href(flow)
        if error:
            message = PROVIDER_ERRORS.get(error, f"QuickBooks answered with an error ({error}).")
            if error_description and error not in PROVIDER_ERRORS:
                message = f"{message} {error_description}"
            raise ConnectFailedError(message, retry)
        if not code or not realm_id:
            raise ConnectFailedError("QuickBooks sent no authorization code or company.", retry)
        if flow.business_id is not None:
            access = await self.data_orchestrator.access_to(user_id, flow.business_id)
            if access is None or not can(access.role, Capability.APPROVE):
                raise ConnectFailedError("You can no longer connect this business.", "/")
        try:
            tokens = await self.data_orchestrator.exchange(code)
        except TokenExchangeError as exc:
            raise ConnectFailedError(
                f"QuickBooks refused the authorization ({exc.error}). Start again.", retry
            ) from exc
        try:
            attached = await self.data_orchestrator.attach(flow, realm_id, tokens)
        except WrongCompanyError as exc:
            raise ConnectFailedError(
                "That is a different QuickBooks company from the one this business is linked to. "
                "Choose the same company, or add the other one as a new business.",
                retry,
            ) from exc
        except RealmTakenError as exc:
            raise ConnectFailedError(
                "That QuickBooks company is already connected to Runway by someone else.", retry
            ) from exc
        if attached.created:
            name = await self.data_orchestrator.company_name(attached.business_id, realm_id)
            if name:
                await self.data_orchestrator.rename(attached.business_id, name)
        await self.data_orchestrator.record(attached.business_id, user_id, "qbo.connected", realm_id)
        run_id = await self.data_orchestrator.start_first_sync(attached.business_id)
        return ConnectResult(attached.business_id, run_id, attached.created)

    async def disconnect(self, user_id: int, business_id: int) -> bool:
        """Revoke and forget the business's QuickBooks tokens; its synced data stays.

        Raises:
            NotFoundError: Not this user's business.
            NotAllowedError: The user's role does not allow it.
        """
        access = await self.data_orchestrator.access_to(user_id, business_id)
        if access is None:
            raise NotFoundError(business_id)
        if not can(access.role, Capability.APPROVE):
            raise NotAllowedError("Only an owner, an advisor or an admin can disconnect QuickBooks.")
        return await self.data_orchestrator.disconnect(business_id, user_id)
