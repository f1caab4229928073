"""Web layer: the QBO side of a Runway process — SmartSync, and in sandbox mode the built-in sandbox
served over real HTTP on loopback, so the demo goes through exactly the path Intuit's API would."""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog
from sqlalchemy.engine import make_url

from app.embedded_server import EmbeddedServer, EmbeddedServerError
from app.settings import Settings
from app.sync_process import SyncProcess
from domains.core.db import Database
from domains.qbo.config import QboConfig
from domains.qbo.crypto import TokenCipher
from domains.qbo.sandbox import QboSandbox, SandboxConfig, create_sandbox_app
from domains.qbo.sandbox.server import database_url as sandbox_database_url
from domains.qbo.smart_sync import SmartSyncService
from domains.qbo.worker import SyncWorker
from runway.services.data_orchestrators.business_summary_data_orchestrator import (
    BusinessSummaryDataOrchestrator,
)
from runway.services.data_orchestrators.decision_console_data_orchestrator import (
    DecisionConsoleDataOrchestrator,
)
from runway.services.experiences.decision_console import DecisionConsoleService

log = structlog.get_logger("runway.qbo.runtime")


class SandboxHost:
    """The QBO sandbox on 127.0.0.1:`port` (0 picks a free port), inside this process's event loop."""

    def __init__(self, settings: Settings, *, port: int) -> None:
        self.sandbox = QboSandbox(
            SandboxConfig(
                database_url=sandbox_database_url(settings.sandbox_db_path),
                webhook_url=f"{settings.public_url}/webhooks/qbo",
                webhook_verifier=settings.qbo_webhook_verifier,
            )
        )
        self.port = port
        self._server = EmbeddedServer(create_sandbox_app(sandbox=self.sandbox), port=port)
        self.url = ""

    async def start(self) -> str:
        try:
            self.url = await self._server.start()
        except EmbeddedServerError as exc:
            raise EmbeddedServerError(
                f"the QBO sandbox could not listen on port {self.port}; "
                "set RUNWAY_SANDBOX_PORT to a free port"
            ) from exc
        log.info("qbo sandbox serving", url=self.url)
        return self.url

    async def stop(self) -> None:
        await self._server.stop()


class QboRuntime:
    """Owns SmartSync (and the sandbox host, in sandbox mode) for one process."""

    def __init__(self, settings: Settings, database: Database, *, sandbox_port: int | None = None) -> None:
        self.settings = settings
        self.database = database
        self.sandbox_port = settings.sandbox_port if sandbox_port is None else sandbox_port
        self.host: SandboxHost | None = None
        self.smart_sync: SmartSyncService | None = None
        self.worker: SyncWorker | None = None
        self.sync_process: SyncProcess | None = None

    @property
    def sandbox(self) -> QboSandbox | None:
        return self.host.sandbox if self.host else None

    def _config(self, base_url: str) -> QboConfig:
        s = self.settings
        if s.sandbox_mode:
            return QboConfig.local_sandbox(base_url, s.redirect_uri, s.qbo_webhook_verifier)
        if not s.qbo_client_id or not s.qbo_client_secret:
            raise RuntimeError("Intuit credentials are required outside sandbox mode")
        return QboConfig.intuit(
            client_id=s.qbo_client_id,
            client_secret=s.qbo_client_secret,
            redirect_uri=s.redirect_uri,
            webhook_verifier=s.qbo_webhook_verifier,
            environment=s.qbo_environment,
            base_url=s.qbo_base_url,
        )

    async def start(
        self, *, worker: bool = False, serving: bool = False, map_in_process: bool | None = None
    ) -> SmartSyncService:
        """`worker`: run the sync worker in this process. `serving`: this process serves requests; its
        worker's runs are then carried out by its sync process (`app.sync_process`, unless the settings
        say otherwise), and its caches are filled again after each run. `map_in_process` (default: a
        worker that carries out runs itself): map full syncs' big pages in a mapping process, which a
        long-lived syncing process starts with its worker; a one-off sync (the CLI) maps them itself
        rather than pay for starting one."""
        base_url = self.settings.qbo_base_url
        if self.settings.sandbox_mode and not base_url:
            self.host = SandboxHost(self.settings, port=self.sandbox_port)
            base_url = await self.host.start()
        config = self._config(base_url or "")
        if worker and serving and self.settings.sync_process and self._shareable_database():
            self.sync_process = SyncProcess(self.settings, base_url or "")
        runs_here = worker and self.sync_process is None
        self.smart_sync = SmartSyncService(
            self.database,
            config,
            TokenCipher(self.settings.secret_key),
            map_in_process=runs_here if map_in_process is None else map_in_process,
        )
        # Keep the client list's summary rows in step with every finished sync, in every process that syncs.
        summaries = BusinessSummaryDataOrchestrator(self.database)
        self.smart_sync.add_run_scope(summaries.sync_scope)
        self.smart_sync.add_run_listener(summaries.on_sync_run)
        if serving:
            # Then the Decision Console's books, so that the next keypress finds them ready (caches here).
            console = DecisionConsoleService(DecisionConsoleDataOrchestrator(self.database, self.smart_sync))
            self.smart_sync.add_cache_listener(console.on_sync_run)
        if worker:
            if self.sync_process is not None:
                # Started now, so that the first run does not wait for its imports.
                await asyncio.to_thread(self.sync_process.start)
            self.worker = SyncWorker(
                self.smart_sync,
                interval=dt.timedelta(minutes=self.settings.sync_interval_minutes),
                carried_out_by=self.sync_process.execute if self.sync_process is not None else None,
            )
            self.worker.start()
        return self.smart_sync

    def _shareable_database(self) -> bool:
        """A database another process can open (not SQLite in memory, which is one per connection)."""
        return make_url(self.settings.database_url).database not in (None, "", ":memory:")

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
        if self.sync_process is not None:
            await self.sync_process.stop()
        if self.smart_sync is not None:
            await self.smart_sync.aclose()
        if self.host is not None:
            await self.host.stop()
