"""Domain (QBO): where QuickBooks is (Intuit's hosts or the local sandbox) and the app's credentials."""

from __future__ import annotations

from dataclasses import dataclass

from domains.qbo.client import INTUIT_SANDBOX_BASE_URL, PRODUCTION_BASE_URL
from domains.qbo.oauth import INTUIT_AUTHORIZE_URL, INTUIT_REVOKE_URL, INTUIT_TOKEN_URL, OAuthEndpoints

SANDBOX_CLIENT_ID = "runway-sandbox"
SANDBOX_CLIENT_SECRET = "runway-sandbox-secret"


@dataclass(frozen=True, slots=True)
class QboConfig:
    """How to reach QBO. `sandbox_mode` means the built-in local sandbox stands in for Intuit."""

    base_url: str
    oauth: OAuthEndpoints
    webhook_verifier: str
    sandbox_mode: bool

    @classmethod
    def local_sandbox(cls, sandbox_url: str, redirect_uri: str, webhook_verifier: str) -> QboConfig:
        root = sandbox_url.rstrip("/")
        return cls(
            base_url=root,
            oauth=OAuthEndpoints(
                client_id=SANDBOX_CLIENT_ID,
                client_secret=SANDBOX_CLIENT_SECRET,
                authorize_url=f"{root}/oauth2/authorize",
                token_url=f"{root}/oauth2/tokens/bearer",
                revoke_url=f"{root}/oauth2/tokens/revoke",
                redirect_uri=redirect_uri,
            ),
            webhook_verifier=webhook_verifier,
            sandbox_mode=True,
        )

    @classmethod
    def intuit(
        cls,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        webhook_verifier: str,
        environment: str = "production",
        base_url: str | None = None,
    ) -> QboConfig:
        default_base = PRODUCTION_BASE_URL if environment == "production" else INTUIT_SANDBOX_BASE_URL
        return cls(
            base_url=(base_url or default_base).rstrip("/"),
            oauth=OAuthEndpoints(
                client_id=client_id,
                client_secret=client_secret,
                authorize_url=INTUIT_AUTHORIZE_URL,
                token_url=INTUIT_TOKEN_URL,
                revoke_url=INTUIT_REVOKE_URL,
                redirect_uri=redirect_uri,
            ),
            webhook_verifier=webhook_verifier,
            sandbox_mode=False,
        )
