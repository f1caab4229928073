"""Domain (QBO sandbox): a local stand-in for the QuickBooks Online Accounting API v3, served over real HTTP.

Same URLs, envelopes, query language subset, paging, CDC, batch, SyncToken and requestid rules, faults,
OAuth 2.0 and signed webhooks as QBO, over its own database; plus fault injection for tests and benchmarks.

    app = create_sandbox_app(SandboxConfig(database_url="sqlite+aiosqlite:///:memory:"))
    sandbox = sandbox_of(app)
    realm_id = await seed_company(sandbox.storage, "Acme", {"Vendor": [{"DisplayName": "Paper Co"}]})
    tokens = await sandbox.issue_tokens(realm_id)
"""

from domains.qbo.sandbox.asgi import create_sandbox_app, sandbox_of
from domains.qbo.sandbox.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FaultProfile, SandboxConfig
from domains.qbo.sandbox.faults import QboFault
from domains.qbo.sandbox.oauth import TokenSet
from domains.qbo.sandbox.runtime import QboSandbox
from domains.qbo.sandbox.seed import SeedError, load_seed_dir, seed_company
from domains.qbo.sandbox.server import build_app, reset, serve
from domains.qbo.sandbox.storage import SandboxStorage
from domains.qbo.sandbox.webhooks import ChangeEvent, sign, verify

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "ChangeEvent",
    "FaultProfile",
    "QboFault",
    "QboSandbox",
    "SandboxConfig",
    "SandboxStorage",
    "SeedError",
    "TokenSet",
    "build_app",
    "create_sandbox_app",
    "load_seed_dir",
    "reset",
    "sandbox_of",
    "seed_company",
    "serve",
    "sign",
    "verify",
]
