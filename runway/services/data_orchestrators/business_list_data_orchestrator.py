"""Data orchestrator: which businesses a user can reach, through firm or direct memberships."""

from __future__ import annotations

from domains.core import repository as core
from domains.core.db import Database
from domains.core.repository import BusinessAccess


class BusinessListDataOrchestrator:
    """Tenancy look-ups. Every answer is scoped to one user; nothing here lists businesses for nobody."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def accessible_businesses(self, user_id: int) -> list[BusinessAccess]:
        async with self.db.read() as session:
            return await core.businesses_for_user(session, user_id)

    async def access_to(self, user_id: int, business_id: int) -> BusinessAccess | None:
        async with self.db.read() as session:
            return await core.business_for_user(session, user_id, business_id)
