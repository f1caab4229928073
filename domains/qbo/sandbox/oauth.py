"""Domain (QBO sandbox): OAuth 2.0 as Intuit runs it — consent page, single-use codes, rotating refresh.

Access tokens live 3600 s; each refresh answers with a new refresh token and the one presented stops
working (`invalid_grant`). Revoking any token of a connection revokes the whole connection. Tokens are
stored in the sandbox database, so they survive a restart of the server.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import html
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from domains.qbo.sandbox.codec import utc_key
from domains.qbo.sandbox.storage import CodeRecord, Realm, SandboxStorage, TokenRecord, Tx

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 8_726_400
CODE_SECONDS = 300
DEFAULT_SCOPE = "com.intuit.quickbooks.accounting"


class OAuthError(Exception):
    """An OAuth error answer: `{"error": ...}` with HTTP 400 (401 for client authentication)."""

    def __init__(self, error: str, description: str = "", *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint returns, plus the company it is for."""

    access_token: str
    refresh_token: str
    realm_id: str
    expires_in: int = ACCESS_TOKEN_SECONDS
    x_refresh_token_expires_in: int = REFRESH_TOKEN_SECONDS
    token_type: str = "bearer"

    def response(self) -> dict[str, Any]:
        return {
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "x_refresh_token_expires_in": self.x_refresh_token_expires_in,
        }


@dataclass(frozen=True)
class AccessCheck:
    """The outcome of checking a bearer token for a company: `status` 200, 401 or 403."""

    status: int
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200


def redirect_with(uri: str, params: Mapping[str, str]) -> str:
    """`uri` with `params` added to its query string (keeping any query it already has)."""
    parts = urlsplit(uri)
    extra = urlencode({key: value for key, value in params.items() if value is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class OAuthService:
    """Codes and tokens over the sandbox storage."""

    def __init__(
        self,
        storage: SandboxStorage,
        *,
        clients: Mapping[str, str],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.storage = storage
        self.clients = dict(clients)
        self.clock = clock

    def client_known(self, client_id: str | None) -> bool:
        return bool(client_id) and client_id in self.clients

    def authenticate_client(self, authorization: str | None, form: Mapping[str, str]) -> str:
        """The client id from HTTP Basic credentials (or client_secret_post fields), or invalid_client."""
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        if authorization and authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OAuthError("invalid_client", status=401) from exc
            client_id, _, secret = decoded.partition(":")
        expected = self.clients.get(client_id or "")
        if client_id is None or secret is None or expected is None:
            raise OAuthError("invalid_client", status=401)
        if not hmac.compare_digest(expected.encode(), secret.encode()):
            raise OAuthError("invalid_client", status=401)
        return client_id

    def _default_client(self) -> str:
        return next(iter(self.clients), "sandbox-client")

    async def _mint(self, tx: Tx, realm_id: str, client_id: str, scope: str, grant_id: str) -> TokenSet:
        now = self.clock()
        tokens = TokenSet(
            access_token="eyJ" + secrets.token_urlsafe(48),
            refresh_token="AB11" + secrets.token_urlsafe(36),
            realm_id=realm_id,
        )
        created = utc_key(now)
        await tx.insert_token(
            TokenRecord(
                tokens.access_token,
                "access",
                grant_id,
                client_id,
                realm_id,
                scope,
                utc_key(now + dt.timedelta(seconds=ACCESS_TOKEN_SECONDS)),
                False,
            ),
            created,
        )
        await tx.insert_token(
            TokenRecord(
                tokens.refresh_token,
                "refresh",
                grant_id,
                client_id,
                realm_id,
                scope,
                utc_key(now + dt.timedelta(seconds=REFRESH_TOKEN_SECONDS)),
                False,
            ),
            created,
        )
        return tokens

    async def issue_tokens(
        self, realm_id: str, *, client_id: str | None = None, scope: str = DEFAULT_SCOPE
    ) -> TokenSet:
        """Mint a connection for a company directly, as if its owner had clicked Connect (tests, demo)."""
        async with self.storage.write() as tx:
            if await tx.realm(realm_id) is None:
                raise LookupError(f"no sandbox company {realm_id}")
            return await self._mint(
                tx, realm_id, client_id or self._default_client(), scope, secrets.token_hex(8)
            )

    async def create_code(self, client_id: str, realm_id: str, redirect_uri: str, scope: str) -> str:
        code = "AB11" + secrets.token_urlsafe(30)
        expires = utc_key(self.clock() + dt.timedelta(seconds=CODE_SECONDS))
        async with self.storage.write() as tx:
            await tx.insert_code(CodeRecord(code, client_id, realm_id, redirect_uri, scope, expires, False))
        return code

    async def exchange_code(self, client_id: str, code: str | None, redirect_uri: str | None) -> TokenSet:
        """grant_type=authorization_code: a code works once, for its own client and redirect_uri."""
        async with self.storage.write() as tx:
            record = await tx.code(code or "")
            if (
                record is None
                or record.used
                or record.client_id != client_id
                or record.expires_utc <= utc_key(self.clock())
                or (redirect_uri is not None and redirect_uri != record.redirect_uri)
            ):
                raise OAuthError("invalid_grant")
            await tx.use_code(record.code)
            return await self._mint(tx, record.realm_id, client_id, record.scope, secrets.token_hex(8))

    async def refresh(self, client_id: str, refresh_token: str | None) -> TokenSet:
        """grant_type=refresh_token: a new pair; the refresh token presented is spent."""
        async with self.storage.write() as tx:
            record = await tx.token(refresh_token or "")
            if (
                record is None
                or record.kind != "refresh"
                or record.revoked
                or record.client_id != client_id
                or record.expires_utc <= utc_key(self.clock())
            ):
                raise OAuthError("invalid_grant")
            await tx.revoke_token(record.token)
            return await self._mint(tx, record.realm_id, client_id, record.scope, record.grant_id)

    async def revoke(self, client_id: str, token: str | None) -> None:
        """Revoke the connection the token belongs to (unknown tokens are ignored, as RFC 7009 asks)."""
        async with self.storage.write() as tx:
            record = await tx.token(token or "")
            if record is not None and record.client_id == client_id:
                await tx.revoke_grant(record.grant_id)

    async def check_access(self, token: str | None, realm_id: str) -> AccessCheck:
        if not token:
            return AccessCheck(401, "Token not found: the Authorization header carries no bearer token")
        async with self.storage.read() as tx:
            record = await tx.token(token)
        if record is None or record.kind != "access":
            return AccessCheck(401, f"Token invalid: {token[:12]}...")
        if record.revoked:
            return AccessCheck(401, f"Token revoked: {token[:12]}...")
        if record.expires_utc <= utc_key(self.clock()):
            return AccessCheck(401, f"Token expired: {token[:12]}...")
        if record.realm_id != realm_id:
            return AccessCheck(403, f"The token was issued for another company, not {realm_id}")
        return AccessCheck(200)

    async def expire_access_tokens(self, realm_id: str) -> int:
        """Fault injection: every access token of the company is expired from now on (refresh still works)."""
        expired = utc_key(self.clock() - dt.timedelta(seconds=1))
        async with self.storage.write() as tx:
            return await tx.expire_access_tokens(realm_id, expired)

    async def invalidate_refresh_tokens(self, realm_id: str) -> int:
        """Fault injection: every refresh token of the company answers invalid_grant from now on."""
        async with self.storage.write() as tx:
            return await tx.revoke_refresh_tokens(realm_id)


def consent_page(
    *,
    realms: Sequence[Realm],
    client_id: str,
    redirect_uri: str,
    scope: str,
    state: str,
    message: str = "",
) -> str:
    """The consent screen: pick a sandbox company (or name a new one) and Connect. A plain form, no script."""
    esc = html.escape
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{esc(value)}">'
        for name, value in (
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("state", state),
            ("response_type", "code"),
        )
    )
    choices = "".join(
        f'<li><label><input type="radio" name="realm_id" value="{esc(realm.realm_id)}"'
        f"{' checked' if index == 0 else ''}> {esc(realm.company_name)} "
        f"<small>(company {esc(realm.realm_id)})</small></label></li>"
        for index, realm in enumerate(realms)
    )
    new_checked = "" if realms else " checked"
    notice = f'<p role="alert"><strong>{esc(message)}</strong></p>' if message else ""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Connect to QuickBooks (sandbox)</title></head><body>"
        "<main><h1>Connect to QuickBooks</h1>"
        f"<p><strong>{esc(client_id)}</strong> asks for access to a sandbox company "
        f"(scope <code>{esc(scope)}</code>).</p>"
        f"{notice}"
        '<form method="post" action="/oauth2/authorize">'
        f"{hidden}"
        "<fieldset><legend>Company</legend><ul>"
        f"{choices}"
        f'<li><label><input type="radio" name="realm_id" value="new"{new_checked}> A new empty company named '
        '</label><input type="text" name="company_name" maxlength="100" aria-label="New company name"></li>'
        "</ul></fieldset>"
        '<p><button type="submit" name="decision" value="allow">Connect</button> '
        '<button type="submit" name="decision" value="deny">Cancel</button></p>'
        "</form></main></body></html>"
    )


def error_page(message: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Sandbox sign-in error</title></head>"
        f"<body><main><h1>Cannot connect</h1><p>{html.escape(message)}</p></main></body></html>"
    )
