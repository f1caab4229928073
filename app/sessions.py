"""Web layer: server-side sessions kept in the shared database, with id rotation at sign-in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty, Message, ScopeSession

from domains.core import web_sessions
from domains.core.db import Database, utcnow
from runway.services.data_orchestrators.accounts_data_orchestrator import AccountsDataOrchestrator
from runway.services.experiences.sign_in import SignInService

# The session key holding the signed-in user's id.
SESSION_USER_KEY = "user_id"
# scope["state"] key: the `SignedInSession` read with the session (see `load_from_connection`).
SIGNED_IN = "runway_signed_in"
_ROTATE_FLAG = "runway_rotate_session"
_NEW_ID = "runway_new_session_id"
_LOADED_RAW = "runway_loaded_session_raw"


class DatabaseSessionStore(Store):
    """A Litestar Store over the web_sessions table."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sign_in = SignInService(AccountsDataOrchestrator(db))

    async def set(self, key: str, value: str | bytes, expires_in: int | dt.timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        if isinstance(expires_in, int):
            expires_in = dt.timedelta(seconds=expires_in)
        expires_at = utcnow() + expires_in if expires_in is not None else None
        async with self.db.write() as session:
            await web_sessions.save_session(session, key, data, expires_at)

    async def get(self, key: str, renew_for: int | dt.timedelta | None = None) -> bytes | None:
        async with self.db.read() as session:
            return await web_sessions.load_session(session, key)

    async def delete(self, key: str) -> None:
        async with self.db.write() as session:
            await web_sessions.delete_session(session, key)

    async def delete_all(self) -> None:
        async with self.db.write() as session:
            await web_sessions.delete_all_sessions(session)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with self.db.read() as session:
            expires_at = await web_sessions.session_expiry(session, key)
        if expires_at is None:
            return None
        return max(0, int((expires_at - utcnow()).total_seconds()))


def rotate_session_id(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Ask for a fresh session id on this response (call at sign-in, against session fixation)."""
    connection.scope.setdefault("state", {})[_ROTATE_FLAG] = True


class RotatingSessionBackend(ServerSideSessionBackend):
    """Server-side sessions that rotate their id on request and skip the store write when nothing changed.

    Skipping unchanged writes matters: otherwise every authenticated page view would be a database write.
    The session lifetime is therefore absolute from sign-in (max_age), not sliding.
    """

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        state = connection.scope.setdefault("state", {})
        if state.get(_ROTATE_FLAG):
            if _NEW_ID not in state:
                state[_NEW_ID] = self.generate_session_id()
            return str(state[_NEW_ID])
        return super().get_session_id(connection)

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        """The session's data. With our store, the same read brings the signed-in user (and the business
        the URL names), which `provide_current_user` takes instead of reading them again."""
        if session_id := connection.cookies.get(self.config.key):
            store = self.config.get_store_from_app(connection.scope["app"])
            state = connection.scope.setdefault("state", {})
            if isinstance(store, DatabaseSessionStore):
                business_id = (connection.scope.get("path_params") or {}).get("business_id")
                signed_in = await store.sign_in.session_at(
                    session_id, self._user_id_of, business_id if isinstance(business_id, int) else None
                )
                state[SIGNED_IN] = signed_in
                data = signed_in.data
            else:
                data = await self.get(session_id, store=store)
            if data is not None:
                state[_LOADED_RAW] = data
                return self.deserialize_data(data)
        return {}

    def _user_id_of(self, data: bytes) -> int | None:
        user_id = self.deserialize_data(data).get(SESSION_USER_KEY)
        return user_id if isinstance(user_id, int) else None

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        state = connection.scope.setdefault("state", {})
        old_id = connection.cookies.get(self.config.key)
        if not scope_session:
            # Anonymous visitors get no session row at all; a stale cookie is cleared.
            if old_id and old_id != "null":
                await super().store_in_message(Empty, message, connection)
            return
        if state.get(_ROTATE_FLAG) and old_id:
            await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
        if not state.get(_ROTATE_FLAG):
            raw = state.get(_LOADED_RAW)
            if raw is not None and raw == self.serialize_data(scope_session, connection.scope):
                return
        await super().store_in_message(scope_session, message, connection)


class RunwaySessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend
