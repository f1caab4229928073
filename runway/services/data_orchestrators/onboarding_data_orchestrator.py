"""Data orchestrator: Connect QuickBooks — single-use OAuth states, the code exchange, attaching the company
to a business (new or existing) with its tokens stored encrypted, the first sync, and disconnecting.

Talks to QuickBooks only through SmartSync's OAuth endpoints, HTTP client, token store and reads.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import structlog
from sqlalchemy import select

from domains.core import repository as core
from domains.core.db import Database
from domains.core.models import Business, BusinessRole
from domains.core.repository import BusinessAccess
from domains.qbo import repository as qbo_repo
from domains.qbo.crypto import TokenDecryptionError
from domains.qbo.errors import QboError
from domains.qbo.oauth import OAuthError, TokenSet, authorize_url, exchange_code, revoke
from domains.qbo.smart_sync import SmartSyncService
from domains.qbo.tokens import NotConnectedError, ReconnectNeededError

log = structlog.get_logger("runway.onboarding")

STATE_MAX_AGE = dt.timedelta(minutes=15)
PROVISIONAL_NAME = "QuickBooks company {realm_id}"


class ConnectUnavailableError(RuntimeError):
    """This process runs no QuickBooks runtime, so it cannot connect companies."""


class TokenExchangeError(Exception):
    """QuickBooks refused the authorization code, or could not be reached."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


class RealmTakenError(Exception):
    """That QuickBooks company is already connected to a business this user cannot open."""


class WrongCompanyError(Exception):
    """The business is linked to another QuickBooks company than the one just chosen."""


@dataclass(frozen=True, slots=True)
class StartedFlow:
    """Who started a flow and for what: an existing business, a new client of a firm, or a new business."""

    user_id: int
    business_id: int | None
    firm_id: int | None


@dataclass(frozen=True, slots=True)
class Attached:
    business_id: int
    created: bool


class OnboardingDataOrchestrator:
    def __init__(self, db: Database, smart_sync: SmartSyncService | None) -> None:
        self.db = db
        self.smart_sync = smart_sync

    def _sync(self) -> SmartSyncService:
        if self.smart_sync is None:
            raise ConnectUnavailableError("QuickBooks is not available in this process")
        return self.smart_sync

    async def firm_roles(self, user_id: int) -> list[tuple[int, str, str]]:
        async with self.db.read() as session:
            return await core.firm_roles_for_user(session, user_id)

    async def access_to(self, user_id: int, business_id: int) -> BusinessAccess | None:
        async with self.db.read() as session:
            return await core.business_for_user(session, user_id, business_id)

    async def begin(self, user_id: int, *, business_id: int | None, firm_id: int | None) -> str:
        """Record a fresh single-use state bound to this user and target; return the consent page URL."""
        endpoints = self._sync().config.oauth
        state = secrets.token_urlsafe(32)
        async with self.db.write() as session:
            await qbo_repo.create_oauth_state(
                session, state, user_id=user_id, business_id=business_id, firm_id=firm_id
            )
        return authorize_url(endpoints, state)

    async def consume_state(self, user_id: int, state: str) -> StartedFlow | None:
        """The flow the state started, if it is this user's, fresh and unused; never usable again."""
        async with self.db.write() as session:
            record = await qbo_repo.consume_oauth_state(
                session, state, user_id=user_id, max_age=STATE_MAX_AGE
            )
            if record is None:
                return None
            return StartedFlow(record.user_id, record.business_id, record.firm_id)

    async def exchange(self, code: str) -> TokenSet:
        sync = self._sync()
        try:
            return await exchange_code(sync.http, sync.config.oauth, code)
        except OAuthError as exc:
            raise TokenExchangeError(exc.error, exc.description) from exc

    async def attach(self, flow: StartedFlow, realm_id: str, tokens: TokenSet) -> Attached:
        """Link the company to the flow's business (or a new one) and store its tokens, encrypted.

        A company already linked to a business this user can open is reconnected there instead of being
        added twice.
        """
        async with self.db.write() as session:
            holder = await session.scalar(select(Business).where(Business.realm_id == realm_id))
            if flow.business_id is not None:
                business = await session.get(Business, flow.business_id)
                if business is None:
                    raise LookupError(flow.business_id)
                if business.realm_id and business.realm_id != realm_id:
                    raise WrongCompanyError(business.realm_id)
                if holder is not None and holder.id != business.id:
                    raise RealmTakenError(realm_id)
                attached = Attached(business.id, created=False)
            elif holder is not None:
                if await core.business_for_user(session, flow.user_id, holder.id) is None:
                    raise RealmTakenError(realm_id)
                attached = Attached(holder.id, created=False)
            else:
                business = await core.create_business(
                    session, name=PROVISIONAL_NAME.format(realm_id=realm_id), firm_id=flow.firm_id
                )
                business.realm_id = realm_id
                if flow.firm_id is None:
                    await core.ensure_membership(
                        session, user_id=flow.user_id, business_id=business.id, role=BusinessRole.OWNER
                    )
                attached = Attached(business.id, created=True)
        await self._sync().tokens.store(attached.business_id, realm_id, tokens)
        return attached

    async def company_name(self, business_id: int, realm_id: str) -> str | None:
        """The company's name in QuickBooks (CompanyInfo), or None when it cannot be read now."""
        try:
            info = await self._sync().read_entity(business_id, "CompanyInfo", realm_id)
        except (QboError, NotConnectedError, ReconnectNeededError, OAuthError) as exc:
            log.warning("company name unavailable", business_id=business_id, error=str(exc))
            return None
        name = str(info.get("CompanyName") or "").strip()[:200]
        return name or None

    async def rename(self, business_id: int, name: str) -> None:
        async with self.db.write() as session:
            business = await core.get_business(session, business_id)
            if business is not None:
                business.name = name

    async def start_first_sync(self, business_id: int) -> int:
        """A full sync, queued for the worker; the dashboard shows its progress."""
        return await self._sync().request_sync(business_id, full=True, trigger="initial")

    async def record(self, business_id: int, user_id: int, action: str, realm_id: str | None) -> None:
        async with self.db.write() as session:
            await core.add_audit_entry(
                session,
                action=action,
                business_id=business_id,
                user_id=user_id,
                entity_type="business",
                entity_id=str(business_id),
                after={"realm_id": realm_id} if realm_id else None,
            )

    async def disconnect(self, business_id: int, user_id: int) -> bool:
        """Revoke the tokens at QuickBooks (best effort) and forget them. False when not connected."""
        sync = self._sync()
        async with self.db.read() as session:
            connection = await qbo_repo.get_connection(session, business_id)
        if connection is None or connection.status == "disconnected":
            return False
        token = None
        if connection.refresh_token_enc:
            try:
                token = sync.tokens.cipher.decrypt(connection.refresh_token_enc)
            except TokenDecryptionError:
                token = None
        if token:
            try:
                await revoke(sync.http, sync.config.oauth, token)
            except OAuthError as exc:
                # The tokens are forgotten either way; QuickBooks expires an unused grant by itself.
                log.warning("qbo revoke failed", business_id=business_id, error=str(exc))
        async with self.db.write() as session:
            await qbo_repo.mark_connection(session, business_id, "disconnected", "disconnected by a person")
            stored = await qbo_repo.get_connection(session, business_id)
            if stored is not None:
                stored.access_token_enc = None
                stored.refresh_token_enc = None
                stored.access_expires_at = None
                stored.refresh_expires_at = None
            await core.add_audit_entry(
                session,
                action="qbo.disconnected",
                business_id=business_id,
                user_id=user_id,
                entity_type="business",
                entity_id=str(business_id),
                before={"realm_id": connection.realm_id},
            )
        return True
