"""Domain (QBO): a business's access token — decrypted, refreshed before expiry, rotation kept."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import httpx
import structlog

from domains.core.db import Database
from domains.qbo import repository as repo
from domains.qbo.clock import Clock
from domains.qbo.crypto import TokenCipher, TokenDecryptionError
from domains.qbo.oauth import InvalidGrantError, OAuthEndpoints, OAuthError, TokenSet, refresh_tokens

REFRESH_MARGIN = dt.timedelta(minutes=5)
log = structlog.get_logger("runway.qbo.tokens")


class NotConnectedError(Exception):
    """The business has no QBO connection."""


class ReconnectNeededError(Exception):
    """QBO no longer accepts this business's refresh token; a person must connect again."""


@dataclass(frozen=True, slots=True)
class Credentials:
    business_id: int
    realm_id: str
    access_token: str


class TokenProvider:
    """Hands out a working access token per business; refreshes under a per-business lock."""

    def __init__(
        self,
        db: Database,
        cipher: TokenCipher,
        endpoints: OAuthEndpoints,
        http: httpx.AsyncClient,
        clock: Clock,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.endpoints = endpoints
        self.http = http
        self.clock = clock
        self._locks: dict[int, asyncio.Lock] = {}

    async def store(self, business_id: int, realm_id: str, tokens: TokenSet) -> None:
        async with self.db.write() as session:
            await repo.save_connection(
                session,
                business_id,
                realm_id=realm_id,
                access_token_enc=self.cipher.encrypt(tokens.access_token),
                refresh_token_enc=self.cipher.encrypt(tokens.refresh_token),
                access_expires_at=tokens.access_expires_at,
                refresh_expires_at=tokens.refresh_expires_at,
            )

    async def credentials(self, business_id: int, *, force_refresh: bool = False) -> Credentials:
        """A token valid for at least REFRESH_MARGIN, refreshing (and storing the rotation) if needed."""
        creds, fresh = await self._read(business_id)
        if fresh and not force_refresh:
            return creds
        lock = self._locks.setdefault(business_id, asyncio.Lock())
        async with lock:
            latest, fresh = await self._read(business_id)
            # Another task refreshed while we waited: its token is the one to use.
            if fresh and (not force_refresh or latest.access_token != creds.access_token):
                return latest
            return await self._refresh(business_id)

    async def _read(self, business_id: int) -> tuple[Credentials, bool]:
        async with self.db.read() as session:
            connection = await repo.get_connection(session, business_id)
        if connection is None:
            raise NotConnectedError(f"business {business_id} is not connected to QuickBooks")
        if connection.status != "connected" or not connection.access_token_enc:
            raise ReconnectNeededError(connection.last_error or "QuickBooks needs to be connected again")
        try:
            access = self.cipher.decrypt(connection.access_token_enc)
        except TokenDecryptionError as exc:
            await self._mark_reconnect(business_id, str(exc))
            raise ReconnectNeededError(str(exc)) from exc
        expires = connection.access_expires_at
        fresh = expires is not None and expires - self.clock.now() > REFRESH_MARGIN
        return Credentials(business_id, connection.realm_id, access), fresh

    async def _refresh(self, business_id: int) -> Credentials:
        async with self.db.read() as session:
            connection = await repo.get_connection(session, business_id)
        if connection is None or not connection.refresh_token_enc:
            raise NotConnectedError(f"business {business_id} is not connected to QuickBooks")
        realm_id = connection.realm_id
        try:
            refresh_token = self.cipher.decrypt(connection.refresh_token_enc)
        except TokenDecryptionError as exc:
            await self._mark_reconnect(business_id, str(exc))
            raise ReconnectNeededError(str(exc)) from exc
        try:
            tokens = await refresh_tokens(self.http, self.endpoints, refresh_token)
        except InvalidGrantError as exc:
            # Another process may have rotated the token a moment ago; only a stale stored token is final.
            async with self.db.read() as session:
                again = await repo.get_connection(session, business_id)
            if again is not None and again.refresh_token_enc != connection.refresh_token_enc:
                creds, fresh = await self._read(business_id)
                if fresh:
                    return creds
            await self._mark_reconnect(
                business_id, f"QuickBooks refused the refresh token ({exc.description})"
            )
            raise ReconnectNeededError("QuickBooks needs to be connected again") from exc
        except OAuthError:
            raise
        await self.store(business_id, realm_id, tokens)
        log.info("qbo tokens refreshed", business_id=business_id)
        return Credentials(business_id, realm_id, tokens.access_token)

    async def _mark_reconnect(self, business_id: int, reason: str) -> None:
        async with self.db.write() as session:
            await repo.mark_connection(session, business_id, "reconnect_needed", reason)
