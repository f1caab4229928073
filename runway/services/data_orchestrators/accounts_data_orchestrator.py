"""Data orchestrator: users, logins and memberships for the sign-in and account-admin experiences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domains.core import repository as core
from domains.core import web_sessions
from domains.core.db import Database
from domains.core.models import BusinessRole, FirmRole
from domains.core.repository import BusinessAccess


@dataclass(frozen=True, slots=True)
class StoredLogin:
    user_id: int
    email: str
    display_name: str
    password_hash: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: int
    email: str
    display_name: str
    firm_roles: tuple[tuple[int, str, str], ...]


@dataclass(frozen=True, slots=True)
class SessionRead:
    """A web session's stored data and, when it names an active user, that user and their access to the
    business the request is about (None when it names none, or the user may not see it)."""

    data: bytes | None
    user_id: int | None
    user: UserRecord | None
    access: BusinessAccess | None


class AccountsDataOrchestrator:
    """Reads and writes users and memberships. Stateless: every call opens its own short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_login(self, email: str) -> StoredLogin | None:
        async with self.db.read() as session:
            user = await core.get_user_by_email(session, email)
            if user is None:
                return None
            return StoredLogin(user.id, user.email, user.display_name, user.password_hash, user.is_active)

    async def record_login(self, user_id: int, *, new_password_hash: str | None = None) -> None:
        async with self.db.write() as session:
            await core.record_login(session, user_id)
            if new_password_hash:
                user = await core.get_user(session, user_id)
                if user is not None:
                    user.password_hash = new_password_hash
            await core.add_audit_entry(session, action="user.login", user_id=user_id)

    async def get_user(self, user_id: int) -> UserRecord | None:
        async with self.db.read() as session:
            return await _user_record(session, user_id)

    async def session_with_user(
        self, key: str, user_id_of: Callable[[bytes], int | None], business_id: int | None
    ) -> SessionRead:
        """A web session and the user it names (`user_id_of` reads the id from the stored data), with
        their access to `business_id`: the one read an authenticated request starts with."""
        async with self.db.quick_read() as session:
            data = await web_sessions.load_session(session, key)
            user_id = user_id_of(data) if data is not None else None
            if user_id is None:
                return SessionRead(data, None, None, None)
            record = await _user_record(session, user_id)
            access = None
            if record is not None and business_id is not None:
                access = await core.business_for_user(session, user_id, business_id)
            return SessionRead(data, user_id, record, access)

    async def get_user_and_access(
        self, user_id: int, business_id: int
    ) -> tuple[UserRecord | None, BusinessAccess | None]:
        """The active user and its access to one business, in one read (what each business page needs)."""
        async with self.db.read() as session:
            record = await _user_record(session, user_id)
            if record is None:
                return None, None
            return record, await core.business_for_user(session, user_id, business_id)

    async def upsert_user_with_membership(
        self,
        *,
        email: str,
        password_hash: str,
        display_name: str,
        firm_name: str | None,
        business_name: str | None,
        role: str,
    ) -> tuple[int, bool]:
        """Create the user (or reset its password) and grant one role. Returns (user_id, created)."""
        async with self.db.write() as session:
            user = await core.get_user_by_email(session, email)
            created = user is None
            if user is None:
                user = await core.create_user(
                    session, email=email, password_hash=password_hash, display_name=display_name
                )
            else:
                user.password_hash = password_hash
                if display_name:
                    user.display_name = display_name
            if firm_name is not None:
                firm = await core.get_or_create_firm(session, firm_name)
                await core.ensure_membership(session, user_id=user.id, firm_id=firm.id, role=FirmRole(role))
            elif business_name is not None:
                matches = await core.find_businesses_by_name(session, business_name)
                if len(matches) > 1:
                    raise LookupError(
                        f"{len(matches)} businesses are named {business_name!r}; rename one first"
                    )
                business = matches[0] if matches else await core.create_business(session, name=business_name)
                await core.ensure_membership(
                    session, user_id=user.id, business_id=business.id, role=BusinessRole(role)
                )
            await core.add_audit_entry(
                session,
                action="user.created" if created else "user.updated",
                user_id=user.id,
                entity_type="user",
                entity_id=str(user.id),
                after={"email": user.email, "role": role, "firm": firm_name, "business": business_name},
            )
            return user.id, created

    async def ensure_firm_with_clients(self, firm_name: str, client_names: list[str]) -> int:
        """The firm and the named client businesses, created when missing. Returns the firm id."""
        async with self.db.write() as session:
            firm = await core.get_or_create_firm(session, firm_name)
            for name in client_names:
                existing = [
                    b for b in await core.find_businesses_by_name(session, name) if b.firm_id == firm.id
                ]
                if not existing:
                    await core.create_business(session, name=name, firm_id=firm.id)
            return firm.id


async def _user_record(session: Any, user_id: int) -> UserRecord | None:
    found = await core.active_user_with_firm_roles(session, user_id)
    if found is None:
        return None
    (person_id, email, display_name), firm_roles = found
    return UserRecord(person_id, email, display_name, tuple(firm_roles))
