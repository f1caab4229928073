"""Domain (QBO): the OAuth 2.0 authorization-code flow — authorize URL, code exchange, refresh, revoke.

Hand-written over httpx (two form POSTs to the token endpoint) rather than through an OAuth library:
the flow is small, and it keeps httpx the only HTTP stack (see the stack notes on httpx2).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

SCOPE_ACCOUNTING = "com.intuit.quickbooks.accounting"

INTUIT_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
INTUIT_REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"


@dataclass(frozen=True, slots=True)
class OAuthEndpoints:
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    revoke_url: str
    redirect_uri: str
    scope: str = SCOPE_ACCOUNTING


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    refresh_token: str
    access_expires_at: dt.datetime
    refresh_expires_at: dt.datetime | None


class OAuthError(Exception):
    """The token endpoint refused (its `error` code is kept) or could not be reached."""

    def __init__(self, error: str, description: str = "", status: int = 0) -> None:
        self.error = error
        self.description = description
        self.status = status
        super().__init__(f"{error}: {description}" if description else error)


class InvalidGrantError(OAuthError):
    """The code or refresh token is expired, revoked or already used: the user must reconnect."""


def authorize_url(endpoints: OAuthEndpoints, state: str) -> str:
    query = urlencode(
        {
            "client_id": endpoints.client_id,
            "response_type": "code",
            "scope": endpoints.scope,
            "redirect_uri": endpoints.redirect_uri,
            "state": state,
        }
    )
    return f"{endpoints.authorize_url}?{query}"


def _token_set(body: dict[str, Any], now: dt.datetime) -> TokenSet:
    try:
        access = str(body["access_token"])
        refresh = str(body["refresh_token"])
        expires_in = int(body.get("expires_in", 3600))
    except (KeyError, TypeError, ValueError) as exc:
        raise OAuthError("invalid_response", f"token response lacks {exc}") from exc
    refresh_in = body.get("x_refresh_token_expires_in")
    hard = body.get("x_refresh_token_hard_expires_in")
    refresh_seconds = [int(v) for v in (refresh_in, hard) if isinstance(v, int | str) and str(v).isdigit()]
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=now + dt.timedelta(seconds=expires_in),
        refresh_expires_at=now + dt.timedelta(seconds=min(refresh_seconds)) if refresh_seconds else None,
    )


async def _token_request(
    http: httpx.AsyncClient, endpoints: OAuthEndpoints, form: dict[str, str]
) -> TokenSet:
    now = dt.datetime.now(dt.UTC)
    try:
        response = await http.post(
            endpoints.token_url,
            data=form,
            auth=(endpoints.client_id, endpoints.client_secret),
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise OAuthError("unreachable", f"token endpoint could not be reached: {exc}") from exc
    try:
        body = response.json()
    except json.JSONDecodeError:
        body = {}
    if response.status_code >= 400 or not isinstance(body, dict) or "error" in body:
        error = str(body.get("error", "http_error")) if isinstance(body, dict) else "http_error"
        description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
        cls = InvalidGrantError if error == "invalid_grant" else OAuthError
        raise cls(error, description or f"HTTP {response.status_code}", response.status_code)
    return _token_set(body, now)


async def exchange_code(http: httpx.AsyncClient, endpoints: OAuthEndpoints, code: str) -> TokenSet:
    return await _token_request(
        http,
        endpoints,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": endpoints.redirect_uri},
    )


async def refresh_tokens(http: httpx.AsyncClient, endpoints: OAuthEndpoints, refresh_token: str) -> TokenSet:
    """New tokens; QBO may rotate the refresh token, so always store the one returned."""
    return await _token_request(
        http, endpoints, {"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


async def revoke(http: httpx.AsyncClient, endpoints: OAuthEndpoints, token: str) -> None:
    try:
        response = await http.post(
            endpoints.revoke_url,
            data={"token": token},
            auth=(endpoints.client_id, endpoints.client_secret),
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise OAuthError("unreachable", f"revoke endpoint could not be reached: {exc}") from exc
    if response.status_code >= 400:
        raise OAuthError("revoke_failed", f"HTTP {response.status_code}", response.status_code)
