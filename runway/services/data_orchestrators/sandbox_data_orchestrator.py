"""Data orchestrator: companies in the built-in QBO sandbox, registered as Runway businesses and connected.

In sandbox mode connecting needs no browser: the sandbox issues tokens directly, exactly as its consent
page would, and they are stored encrypted like Intuit's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from domains.core import repository as core
from domains.core.db import Database
from domains.qbo import repository as qbo_repo
from domains.qbo.demo import demo_companies
from domains.qbo.oauth import TokenSet
from domains.qbo.sandbox import QboSandbox, load_seed_dir, seed_company
from domains.qbo.smart_sync import SmartSyncService


class SandboxDataOrchestrator:
    def __init__(self, db: Database, sandbox: QboSandbox, smart_sync: SmartSyncService) -> None:
        self.db = db
        self.sandbox = sandbox
        self.smart_sync = smart_sync

    async def business_is_connected(self, business_id: int) -> bool:
        async with self.db.read() as session:
            return await qbo_repo.has_connection(session, business_id)

    async def ensure_business(self, name: str, *, firm_name: str | None) -> int:
        """The business of that name (in that firm, or owned directly), created when missing."""
        async with self.db.write() as session:
            firm_id = (await core.get_or_create_firm(session, firm_name)).id if firm_name else None
            for business in await core.find_businesses_by_name(session, name):
                if business.firm_id == firm_id:
                    return business.id
            return (await core.create_business(session, name=name, firm_id=firm_id)).id

    async def seed_directory(self, path: Path, company_name: str) -> str:
        """A new sandbox company from a directory of QBO response files; returns its realm id."""
        return await load_seed_dir(self.sandbox.storage, path, company_name)

    async def seed_entities(
        self,
        company_name: str,
        entities: Mapping[str, Sequence[Mapping[str, Any]]],
        *,
        company_info: Mapping[str, Any] | None = None,
        preferences: Mapping[str, Any] | None = None,
    ) -> str:
        return await seed_company(
            self.sandbox.storage, company_name, entities, company_info=company_info, preferences=preferences
        )

    async def seed_demo_company(self, name: str, today: dt.date) -> str:
        """Generate the named demo company's books, anchored on `today`, as a new sandbox company."""
        company = next((c for c in demo_companies(today) if c.name == name), None)
        if company is None:
            raise LookupError(f"there is no demo company named {name!r}")
        return await self.seed_entities(
            company.name, company.entities, company_info=company.company_info, preferences=company.preferences
        )

    async def connect(self, business_id: int, realm_id: str) -> None:
        issued = await self.sandbox.issue_tokens(realm_id)
        now = dt.datetime.now(dt.UTC)
        await self.smart_sync.tokens.store(
            business_id,
            realm_id,
            TokenSet(
                access_token=issued.access_token,
                refresh_token=issued.refresh_token,
                access_expires_at=now + dt.timedelta(seconds=issued.expires_in),
                refresh_expires_at=now + dt.timedelta(seconds=issued.x_refresh_token_expires_in),
            ),
        )
