"""Domain (QBO sandbox): the HTTP face — QBO's URL layout, OAuth endpoints and the `/_sandbox` admin API.

Accounting calls go through one handler per path so the sandbox, not the framework, decides every status
code and body (QBO's envelopes, its case-sensitive URIs, its faults). Each call passes, in order: added
latency, the bearer token check, the rate limits, the 503 draw, then an injected timeout before or after
the operation. Every answer carries an `Intuit-Tid` header.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from typing import Any, cast
from urllib.parse import parse_qsl

from litestar import Litestar, Request, Response, get, post, route
from litestar.datastructures import State
from litestar.enums import HttpMethod
from litestar.exceptions import HTTPException

from domains.qbo.sandbox import faults
from domains.qbo.sandbox.codec import dumps, loads
from domains.qbo.sandbox.config import SandboxConfig
from domains.qbo.sandbox.injection import profile_json
from domains.qbo.sandbox.oauth import OAuthError, consent_page, error_page, redirect_with
from domains.qbo.sandbox.operations import UnknownRealm
from domains.qbo.sandbox.runtime import QboSandbox

log = logging.getLogger(__name__)

JSON_OK = "application/json;charset=UTF-8"
JSON_FAULT = "application/json"
HTML = "text/html; charset=utf-8"
CONSENT_CSP = "default-src 'none'; form-action 'self' http: https:; frame-ancestors 'none'"


def sandbox_of(app: Litestar) -> QboSandbox:
    """The sandbox behind an app made by `create_sandbox_app` (its Python API: tokens, faults, companies)."""
    return cast(QboSandbox, app.state.sandbox)


def _sandbox(request: Request[Any, Any, Any]) -> QboSandbox:
    return sandbox_of(request.app)


def new_tid() -> str:
    return f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"


def _reply(
    body: bytes, status: int, tid: str, media_type: str = JSON_OK, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(
        content=body,
        status_code=status,
        media_type=media_type,
        headers={"Intuit-Tid": tid, **(headers or {})},
    )


def _fault_reply(sandbox: QboSandbox, fault: faults.QboFault, tid: str) -> Response[bytes]:
    media = JSON_OK if fault.status == 200 else JSON_FAULT
    return _reply(sandbox.api.envelope(fault.envelope()), fault.status, tid, media)


def _bearer(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def _operation(
    sandbox: QboSandbox, request: Request[Any, Any, Any], realm_id: str, parts: list[str]
) -> bytes:
    api = sandbox.api
    params = request.query_params
    head = parts[0] if parts else ""
    if request.method == HttpMethod.GET:
        if parts == ["query"]:
            return await api.query(realm_id, params.get("query") or "")
        if parts == ["cdc"]:
            return await api.cdc(realm_id, params.get("entities"), params.get("changedSince"))
        if head == "reports" and len(parts) == 2:
            return await api.report(realm_id, parts[1], {key: value for key, value in params.items()})
        if head == "companyinfo" and len(parts) == 2:
            return await api.company_info(realm_id, parts[1])
        if parts == ["preferences"]:
            return await api.preferences(realm_id)
        if len(parts) == 2:
            return await api.read(realm_id, head, parts[1])
    else:
        request_id = params.get("requestid") or params.get("requestId")
        if parts == ["query"]:
            text = params.get("query") or (await request.body()).decode("utf-8", errors="replace")
            return await api.query(realm_id, text)
        if parts == ["batch"]:
            return await api.batch(realm_id, await request.body(), request_id=request_id)
        if len(parts) == 3 and parts[2] == "send":
            return await api.send(realm_id, head, parts[1], params.get("sendTo"), request_id=request_id)
        if len(parts) == 1:
            return await api.write(
                realm_id,
                head,
                await request.body(),
                operation=params.get("operation"),
                include=params.get("include"),
                request_id=request_id,
            )
    raise faults.unsupported(f"Unsupported operation {request.method} {'/'.join(parts)}.")


@route(
    "/v3/company/{realm_id:str}/{rest:path}", http_method=[HttpMethod.GET, HttpMethod.POST], status_code=200
)
async def accounting(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox = _sandbox(request)
    tid = new_tid()
    realm_id = str(request.path_params["realm_id"])
    parts = [part for part in str(request.path_params["rest"]).split("/") if part]
    profile = sandbox.faults.profile(realm_id)
    delay_ms = profile.latency_ms + (profile.query_latency_ms if parts == ["query"] else 0)
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)

    if sandbox.config.require_auth:
        check = await sandbox.oauth.check_access(_bearer(request), realm_id)
        if check.status == 401:
            return _reply(
                dumps(faults.authentication_failed(check.detail)),
                401,
                tid,
                JSON_FAULT,
                {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
            )
        if check.status == 403:
            return _reply(dumps(faults.authorization_failed(check.detail)), 403, tid, JSON_FAULT)

    if not sandbox.faults.admit(realm_id, batch=parts == ["batch"]):
        return _reply(faults.throttle_xml(sandbox.api.time()), 429, tid, "application/xml")
    if sandbox.faults.unavailable(realm_id):
        unavailable = faults.system_failure("Service Unavailable: try again later", status=503)
        return _fault_reply(sandbox, unavailable, tid)
    hang = sandbox.faults.take_timeout(realm_id)
    if hang and not profile.timeout_after_commit:
        await asyncio.sleep(profile.timeout_ms / 1000)
        return _fault_reply(sandbox, faults.system_failure("Gateway Timeout", status=504), tid)

    try:
        response = _reply(await _operation(sandbox, request, realm_id, parts), 200, tid)
    except faults.QboFault as fault:
        response = _fault_reply(sandbox, fault, tid)
    except UnknownRealm:
        response = _reply(
            dumps(faults.authorization_failed(f"Unknown company {realm_id}")), 403, tid, JSON_FAULT
        )
    except Exception:
        log.exception("sandbox operation failed: %s %s", request.method, request.url.path)
        response = _fault_reply(sandbox, faults.system_failure("internal error in the QBO sandbox"), tid)
    if hang:
        # The change (if any) is committed; the client times out without hearing about it.
        await asyncio.sleep(profile.timeout_ms / 1000)
    return response


# OAuth 2.0


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def _oauth_json(body: dict[str, Any], status: int = 200) -> Response[bytes]:
    return Response(
        content=dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache", "Intuit-Tid": new_tid()},
    )


def _html(page: str, status: int = 200) -> Response[bytes]:
    return Response(
        content=page.encode(),
        status_code=status,
        media_type=HTML,
        headers={"Content-Security-Policy": CONSENT_CSP},
    )


def _redirect(location: str) -> Response[bytes]:
    return Response(content=b"", status_code=302, headers={"Location": location})


@get("/oauth2/authorize", status_code=200)
async def authorize_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox = _sandbox(request)
    params = request.query_params
    client_id = params.get("client_id") or ""
    redirect_uri = params.get("redirect_uri") or ""
    state = params.get("state") or ""
    if not sandbox.oauth.client_known(client_id):
        return _html(error_page(f"Unknown client_id {client_id!r}."), 400)
    if not redirect_uri:
        return _html(error_page("redirect_uri is missing."), 400)
    if params.get("response_type") != "code":
        return _redirect(redirect_with(redirect_uri, {"error": "unsupported_response_type", "state": state}))
    scope = params.get("scope") or ""
    if not scope.strip():
        return _redirect(redirect_with(redirect_uri, {"error": "invalid_scope", "state": state}))
    page = consent_page(
        realms=await sandbox.realms(),
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
    )
    return _html(page)


@post("/oauth2/authorize", status_code=302)
async def authorize_decision(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox = _sandbox(request)
    form = await _form(request)
    client_id = form.get("client_id", "")
    redirect_uri = form.get("redirect_uri", "")
    state = form.get("state", "")
    scope = form.get("scope", "")
    if not sandbox.oauth.client_known(client_id) or not redirect_uri:
        return _html(error_page("The consent form is incomplete; start again from the application."), 400)
    if form.get("decision") != "allow":
        return _redirect(redirect_with(redirect_uri, {"error": "access_denied", "state": state}))
    choice = form.get("realm_id", "")
    if choice == "new":
        name = form.get("company_name", "").strip()
        if not name:
            page = consent_page(
                realms=await sandbox.realms(),
                client_id=client_id,
                redirect_uri=redirect_uri,
                scope=scope,
                state=state,
                message="Give the new company a name.",
            )
            return _html(page, 400)
        realm_id = await sandbox.create_company(name)
    else:
        known = {realm.realm_id for realm in await sandbox.realms()}
        if choice not in known:
            return _html(error_page(f"There is no sandbox company {choice!r}."), 400)
        realm_id = choice
    code = await sandbox.oauth.create_code(client_id, realm_id, redirect_uri, scope)
    return _redirect(redirect_with(redirect_uri, {"code": code, "state": state, "realmId": realm_id}))


@post("/oauth2/tokens/bearer", status_code=200)
async def token_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    oauth = _sandbox(request).oauth
    form = await _form(request)
    try:
        client_id = oauth.authenticate_client(request.headers.get("authorization"), form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            tokens = await oauth.exchange_code(client_id, form.get("code"), form.get("redirect_uri"))
        elif grant_type == "refresh_token":
            tokens = await oauth.refresh(client_id, form.get("refresh_token"))
        else:
            raise OAuthError("unsupported_grant_type")
    except OAuthError as error:
        return _oauth_json(error.body(), error.status)
    return _oauth_json(tokens.response())


@post("/oauth2/tokens/revoke", status_code=200)
async def revoke_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    oauth = _sandbox(request).oauth
    raw = await request.body()
    token: str | None
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = loads(raw) if raw else {}
        except ValueError:
            parsed = {}
        token = parsed.get("token") if isinstance(parsed, dict) else None
        form: dict[str, str] = {}
    else:
        form = dict(parse_qsl(raw.decode("utf-8", errors="replace")))
        token = form.get("token")
    try:
        client_id = oauth.authenticate_client(request.headers.get("authorization"), form)
    except OAuthError as error:
        return _oauth_json(error.body(), error.status)
    if not token:
        return _oauth_json(OAuthError("invalid_request", "token is required").body(), 400)
    await oauth.revoke(client_id, str(token))
    return Response(content=b"", status_code=200, headers={"Intuit-Tid": new_tid()})


# Admin API (/_sandbox): companies, tokens, faults and the sent-email log, for tests and the demo.


def _admin_denied(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    expected = _sandbox(request).config.admin_token
    if expected is None:
        return None
    given = request.headers.get("x-sandbox-admin", "")
    if hmac.compare_digest(expected.encode(), given.encode()):
        return None
    return _admin_json({"error": "forbidden"}, 403)


def _admin_json(body: Any, status: int = 200) -> Response[bytes]:
    return Response(content=dumps(body), status_code=status, media_type="application/json")


async def _admin_realm(request: Request[Any, Any, Any]) -> tuple[QboSandbox, str, Response[bytes] | None]:
    sandbox = _sandbox(request)
    realm_id = str(request.path_params["realm_id"])
    denied = _admin_denied(request)
    if denied is not None:
        return sandbox, realm_id, denied
    if realm_id not in {realm.realm_id for realm in await sandbox.realms()}:
        return sandbox, realm_id, _admin_json({"error": f"no sandbox company {realm_id}"}, 404)
    return sandbox, realm_id, None


@get("/_sandbox/realms", status_code=200)
async def admin_realms(request: Request[Any, Any, Any]) -> Response[bytes]:
    denied = _admin_denied(request)
    if denied is not None:
        return denied
    realms = await _sandbox(request).realms()
    return _admin_json([{"realmId": realm.realm_id, "companyName": realm.company_name} for realm in realms])


@post("/_sandbox/realms", status_code=201)
async def admin_create_realm(request: Request[Any, Any, Any]) -> Response[bytes]:
    denied = _admin_denied(request)
    if denied is not None:
        return denied
    try:
        body = loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("companyName"), str):
        return _admin_json({"error": 'send {"companyName": "..."}'}, 400)
    entities = body.get("entities") or {}
    try:
        realm_id = await _sandbox(request).create_company(body["companyName"], entities)
    except ValueError as exc:
        return _admin_json({"error": str(exc)}, 400)
    return _admin_json({"realmId": realm_id, "companyName": body["companyName"]}, 201)


@route(
    "/_sandbox/realms/{realm_id:str}/faults",
    http_method=[HttpMethod.GET, HttpMethod.PUT, HttpMethod.DELETE],
    status_code=200,
)
async def admin_faults(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox, realm_id, problem = await _admin_realm(request)
    if problem is not None:
        return problem
    if request.method == HttpMethod.DELETE:
        sandbox.clear_faults(realm_id)
    elif request.method == HttpMethod.PUT:
        try:
            changes = loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("send a JSON object of fault settings")
            sandbox.set_faults(realm_id, **changes)
        except (ValueError, TypeError) as exc:
            return _admin_json({"error": str(exc)}, 400)
    return _admin_json(profile_json(sandbox.faults.profile(realm_id)))


@post("/_sandbox/realms/{realm_id:str}/tokens", status_code=201)
async def admin_tokens(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox, realm_id, problem = await _admin_realm(request)
    if problem is not None:
        return problem
    tokens = await sandbox.issue_tokens(realm_id)
    return _admin_json({**tokens.response(), "realmId": realm_id}, 201)


@post("/_sandbox/realms/{realm_id:str}/tokens/expire", status_code=200)
async def admin_expire_tokens(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox, realm_id, problem = await _admin_realm(request)
    if problem is not None:
        return problem
    return _admin_json({"expired": await sandbox.expire_access_tokens(realm_id)})


@post("/_sandbox/realms/{realm_id:str}/tokens/invalidate-refresh", status_code=200)
async def admin_invalidate_refresh(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox, realm_id, problem = await _admin_realm(request)
    if problem is not None:
        return problem
    return _admin_json({"invalidated": await sandbox.invalidate_refresh_tokens(realm_id)})


@get("/_sandbox/realms/{realm_id:str}/emails", status_code=200)
async def admin_emails(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox, realm_id, problem = await _admin_realm(request)
    if problem is not None:
        return problem
    return _admin_json(await sandbox.sent_emails(realm_id))


@get("/_sandbox/health", status_code=200)
async def admin_health() -> Response[bytes]:
    return _admin_json({"status": "ok"})


def _not_found(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if request.url.path.startswith("/v3/"):
        fault = faults.unsupported(f"Unsupported operation {request.method} {request.url.path}.")
        return _reply(dumps({**fault.envelope()}), 400, new_tid(), JSON_FAULT)
    return _admin_json({"error": exc.detail}, exc.status_code)


def create_sandbox_app(config: SandboxConfig | None = None, *, sandbox: QboSandbox | None = None) -> Litestar:
    """The sandbox as an ASGI app. Pass `sandbox` to serve one you already hold (and seeded)."""
    running = sandbox or QboSandbox(config or SandboxConfig())
    return Litestar(
        route_handlers=[
            accounting,
            authorize_page,
            authorize_decision,
            token_endpoint,
            revoke_endpoint,
            admin_realms,
            admin_create_realm,
            admin_faults,
            admin_tokens,
            admin_expire_tokens,
            admin_invalidate_refresh,
            admin_emails,
            admin_health,
        ],
        on_startup=[running.start],
        on_shutdown=[running.stop],
        state=State({"sandbox": running}),
        exception_handlers={HTTPException: _not_found},
        openapi_config=None,
        # The host process (uvicorn, the Runway CLI, a test run) owns logging; the sandbox only logs to it.
        logging_config=None,
    )
