"""Domain (QBO sandbox): one running sandbox — storage, API operations, OAuth, fault injection, webhooks.

`QboSandbox` is also the Python API for tests and the demo: create companies, mint or break tokens, set
faults, read the sent-email log and wait for webhook deliveries, without going through HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from domains.qbo.sandbox import seed
from domains.qbo.sandbox.codec import load_zone
from domains.qbo.sandbox.config import FaultProfile, SandboxConfig
from domains.qbo.sandbox.injection import FaultInjector
from domains.qbo.sandbox.oauth import OAuthService, TokenSet
from domains.qbo.sandbox.operations import QboApi
from domains.qbo.sandbox.storage import Realm, SandboxStorage
from domains.qbo.sandbox.webhooks import ChangeEvent, WebhookNotifier


class QboSandbox:
    """The parts of one sandbox, wired together. `create_sandbox_app` serves one over HTTP."""

    def __init__(self, config: SandboxConfig, *, storage: SandboxStorage | None = None) -> None:
        self.config = config
        self.tz = load_zone(config.timezone)
        self._owns_storage = storage is None
        self.storage = storage or SandboxStorage(config.database_url, clock=config.clock)
        self.webhooks: WebhookNotifier | None = None
        if config.webhook_url and config.webhook_verifier:
            self.webhooks = WebhookNotifier(
                config.webhook_url,
                config.webhook_verifier,
                tz=self.tz,
                body_format=config.webhook_format,
                transport=config.webhook_transport,
            )
        self.faults = FaultInjector(config.faults, seed=config.fault_seed, monotonic=config.monotonic)
        self.oauth = OAuthService(self.storage, clients=config.oauth_clients, clock=config.clock)
        self.api = QboApi(self.storage, tz=self.tz, clock=config.clock, publish=self._publish)

    def _publish(self, events: Sequence[ChangeEvent]) -> None:
        if self.webhooks is not None:
            self.webhooks.publish(events)

    async def start(self) -> None:
        await self.storage.open()

    async def stop(self) -> None:
        if self.webhooks is not None:
            await self.webhooks.aclose()
        if self._owns_storage:
            await self.storage.close()

    # Companies

    async def realms(self) -> list[Realm]:
        async with self.storage.read() as tx:
            return await tx.realms()

    async def create_company(
        self,
        company_name: str,
        entities: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        *,
        realm_id: str | None = None,
    ) -> str:
        return await seed.seed_company(
            self.storage, company_name, entities, realm_id=realm_id, timezone=self.config.timezone
        )

    async def load_seed_dir(self, path: str | Path, company_name: str, *, realm_id: str | None = None) -> str:
        return await seed.load_seed_dir(
            self.storage, path, company_name, realm_id=realm_id, timezone=self.config.timezone
        )

    async def reset(self) -> None:
        """Forget every company, token, replay and fault setting."""
        await self.storage.reset()
        self.faults.reset()

    # Tokens

    async def issue_tokens(self, realm_id: str, *, client_id: str | None = None) -> TokenSet:
        """A fresh access/refresh token pair for a company, as after the consent screen."""
        return await self.oauth.issue_tokens(realm_id, client_id=client_id)

    async def expire_access_tokens(self, realm_id: str) -> int:
        return await self.oauth.expire_access_tokens(realm_id)

    async def invalidate_refresh_tokens(self, realm_id: str) -> int:
        return await self.oauth.invalidate_refresh_tokens(realm_id)

    # Faults

    def set_faults(self, realm_id: str, **changes: Any) -> FaultProfile:
        """Change a company's fault profile, e.g. `set_faults(realm, rate_limits=True, latency_ms=300)`."""
        return self.faults.configure(realm_id, **changes)

    def clear_faults(self, realm_id: str | None = None) -> None:
        self.faults.reset(realm_id)

    # Observations

    async def sent_emails(self, realm_id: str) -> list[dict[str, str]]:
        async with self.storage.read() as tx:
            return await tx.emails(realm_id)

    async def drain_webhooks(self) -> None:
        """Wait until every webhook queued so far has been attempted."""
        if self.webhooks is not None:
            await self.webhooks.drain()
