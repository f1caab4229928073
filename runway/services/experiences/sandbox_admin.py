"""Experience: loading companies into the built-in QBO sandbox (`runway sandbox seed`, the demo companies)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from runway.services.data_orchestrators.sandbox_data_orchestrator import SandboxDataOrchestrator
from runway.services.data_orchestrators.sync_data_orchestrator import SyncDataOrchestrator
from runway.services.experiences.account_admin import DEMO_CLIENTS, DEMO_FIRM, DEMO_OWNED_BUSINESS


@dataclass(frozen=True, slots=True)
class SeededBusiness:
    business_id: int
    name: str
    realm_id: str
    synced: bool
    rows_written: int
    error: str | None


class SandboxAdminService:
    def __init__(self, sandbox: SandboxDataOrchestrator, sync: SyncDataOrchestrator) -> None:
        self.data_orchestrator = sandbox
        self.sync = sync

    async def seed_directory(
        self, path: Path, company_name: str, *, firm_name: str | None = None
    ) -> SeededBusiness:
        """Load QBO JSON files as a new company, register a business of that name, connect and sync it."""
        realm_id = await self.data_orchestrator.seed_directory(path, company_name)
        business_id = await self.data_orchestrator.ensure_business(company_name, firm_name=firm_name)
        await self.data_orchestrator.connect(business_id, realm_id)
        outcome = await self.sync.sync_now(business_id, full=True, trigger="initial")
        return SeededBusiness(
            business_id,
            company_name,
            realm_id,
            outcome.status == "succeeded",
            outcome.rows_written,
            outcome.error,
        )

    async def seed_demo(
        self,
        today: dt.date,
        *,
        on_progress: Callable[[str, str, int, int], Awaitable[None] | None] | None = None,
    ) -> list[SeededBusiness]:
        """The demo companies not yet connected: generated into the sandbox, connected and synced."""
        wanted = [(name, DEMO_FIRM) for name in DEMO_CLIENTS] + [(DEMO_OWNED_BUSINESS, None)]
        results = []
        for name, firm_name in wanted:
            business_id = await self.data_orchestrator.ensure_business(name, firm_name=firm_name)
            if await self.data_orchestrator.business_is_connected(business_id):
                continue
            realm_id = await self.data_orchestrator.seed_demo_company(name, today)
            await self.data_orchestrator.connect(business_id, realm_id)

            async def progress(entity: str, done: int, total: int, name: str = name) -> None:
                if on_progress is not None:
                    result = on_progress(name, entity, done, total)
                    if result is not None:
                        await result

            outcome = await self.sync.sync_now(
                business_id, full=True, trigger="initial", on_progress=progress
            )
            results.append(
                SeededBusiness(
                    business_id,
                    name,
                    realm_id,
                    outcome.status == "succeeded",
                    outcome.rows_written,
                    outcome.error,
                )
            )
        return results
