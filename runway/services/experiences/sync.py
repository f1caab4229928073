"""Experience: keeping a business's numbers fresh — webhook deliveries, "sync now", and the CLI's sync."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from runway.services.data_orchestrators.runway_report_data_orchestrator import RunwayReportDataOrchestrator
from runway.services.data_orchestrators.sync_data_orchestrator import (
    SyncDataOrchestrator,
    WebhookMalformedError,
    WebhookRejectedError,
)

__all__ = ["SyncResultView", "SyncService", "WebhookMalformedError", "WebhookRejectedError"]


@dataclass(frozen=True, slots=True)
class SyncResultView:
    business_name: str
    status: str
    kind: str
    rows_written: int
    quarantined: int
    error: str | None


class SyncService:
    def __init__(
        self,
        orchestrator: SyncDataOrchestrator,
        reports: RunwayReportDataOrchestrator | None = None,
    ) -> None:
        self.data_orchestrator = orchestrator
        self.reports = reports

    async def receive_webhook(self, body: bytes, signature: str | None) -> int:
        """Returns how many syncs were queued (0 for a realm we do not know, which is not an error)."""
        receipt = await self.data_orchestrator.receive_webhook(body, signature)
        return len(receipt.runs)

    async def sync_businesses(
        self,
        business_name: str | None,
        *,
        full: bool,
        on_progress: Callable[[str, str, int, int], Awaitable[None] | None] | None = None,
    ) -> list[SyncResultView]:
        """Sync one business by name, or every connected business; waits for each run to finish."""
        if business_name is not None:
            if self.reports is None:
                raise RuntimeError("finding a business by name needs the report orchestrator")
            targets = [(await self.reports.find_business_id(business_name), business_name)]
        else:
            targets = await self.data_orchestrator.connected_businesses()
        results = []
        for business_id, name in targets:

            async def progress(entity: str, done: int, total: int, name: str = name) -> None:
                if on_progress is not None:
                    outcome = on_progress(name, entity, done, total)
                    if outcome is not None:
                        await outcome

            outcome = await self.data_orchestrator.sync_now(business_id, full=full, on_progress=progress)
            results.append(
                SyncResultView(
                    name,
                    outcome.status,
                    outcome.kind,
                    outcome.rows_written,
                    outcome.quarantined,
                    outcome.error,
                )
            )
        return results
