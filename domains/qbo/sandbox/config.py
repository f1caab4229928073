"""Domain (QBO sandbox): configuration — database, time zone, OAuth clients, webhooks, default faults."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import httpx

from domains.qbo.sandbox.codec import utc_now
from domains.qbo.sandbox.webhooks import WebhookFormat

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/qbo-sandbox.db"
DEFAULT_CLIENT_ID = "runway-sandbox"
DEFAULT_CLIENT_SECRET = "runway-sandbox-secret"


@dataclass
class FaultProfile:
    """Faults injected into one company's API calls. Everything is off by default.

    - `rate_limits`: enforce QBO's limits (`requests_per_minute`, `requests_per_second`,
      `batch_requests_per_minute`), answering 429 with the XML ThrottleExceeded fault.
    - `unavailable_rate`: share (0..1) of calls answered 503, drawn from a generator seeded per company.
    - `latency_ms` is added to every call, `query_latency_ms` on top for `/query` (a slow page).
    - `timeouts`: how many of the next calls hang for `timeout_ms`; before handling (then 504, nothing
      done) or, with `timeout_after_commit`, after the change is committed (the client never sees it).
    """

    rate_limits: bool = False
    requests_per_minute: int = 500
    requests_per_second: int = 10
    batch_requests_per_minute: int = 40
    unavailable_rate: Decimal = Decimal(0)
    latency_ms: int = 0
    query_latency_ms: int = 0
    timeouts: int = 0
    timeout_ms: int = 125_000
    timeout_after_commit: bool = False


@dataclass
class SandboxConfig:
    """Everything `create_sandbox_app` needs; the defaults serve a file database with no faults."""

    database_url: str = DEFAULT_DATABASE_URL
    # QBO stamps times with the company's local offset; sandbox companies are on Pacific time.
    timezone: str = "America/Los_Angeles"
    oauth_clients: Mapping[str, str] = field(
        default_factory=lambda: {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
    )
    require_auth: bool = True
    webhook_url: str | None = None
    webhook_verifier: str | None = None
    webhook_format: WebhookFormat = "classic"
    webhook_transport: httpx.AsyncBaseTransport | None = None
    faults: FaultProfile = field(default_factory=FaultProfile)
    fault_seed: int = 0
    admin_token: str | None = None
    clock: Callable[[], dt.datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic
