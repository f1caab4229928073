"""Web layer: create_app(settings) — Litestar wiring (templates, CSRF, sessions, static files, routes)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from app import template_helpers
from app.deps import DEPENDENCIES
from app.errors import EXCEPTION_HANDLERS
from app.observability import configure_logging, request_id_middleware
from app.qbo_runtime import QboRuntime
from app.routes import auth, clients, connect, console, dashboard, digest, health, home, hygiene, webhooks
from app.security import security_headers_middleware
from app.sessions import DatabaseSessionStore, RunwaySessionConfig
from app.settings import Settings
from domains.core import foreground
from domains.core.db import Database
from domains.qbo.smart_sync import SmartSyncService

ROUTE_HANDLERS: list[Any] = [
    auth.login_page,
    auth.login_submit,
    auth.logout,
    home.businesses,
    home.business_home,
    health.healthz,
    webhooks.qbo_webhook,
    *hygiene.ROUTES,
    *console.ROUTES,
    *dashboard.ROUTES,
    *clients.ROUTES,
    *connect.ROUTES,
    *digest.ROUTES,
]
FEATURE_DEPENDENCIES = {
    **hygiene.DEPENDENCIES,
    **console.DEPENDENCIES,
    **dashboard.DEPENDENCIES,
    **clients.DEPENDENCIES,
    **connect.DEPENDENCIES,
    **digest.DEPENDENCIES,
}

# Machine-to-machine endpoints that authenticate by signature, not by cookie.
CSRF_EXEMPT = ["/webhooks/"]


def _template_engine(settings: Settings) -> JinjaTemplateEngine:
    env = Environment(
        loader=FileSystemLoader(settings.templates_dir),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=settings.debug,
    )
    template_helpers.install(env)
    return JinjaTemplateEngine.from_environment(env)


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    smart_sync: SmartSyncService | None = None,
    start_qbo: bool = True,
    background_checkpoints: bool = False,
) -> Litestar:
    """Build the application.

    `database` may be shared with the caller. With `start_qbo` the app starts its QBO runtime (and, in
    sandbox mode, the built-in sandbox and the sync worker) on start-up; tests pass their own
    `smart_sync` instead. `background_checkpoints`: see `Database` (the serving process's own database).
    """
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, json=settings.log_json)
    db = database or Database(settings.database_url, background_checkpoints=background_checkpoints)
    owns_database = database is None
    state = State({"database": db, "settings": settings, "smart_sync": smart_sync})
    runtime = QboRuntime(settings, db) if start_qbo and smart_sync is None else None

    async def on_startup() -> None:
        if runtime is not None:
            state.smart_sync = await runtime.start(worker=settings.run_worker, serving=True)

    async def on_shutdown() -> None:
        if runtime is not None:
            await runtime.stop()
        if owns_database:
            await db.dispose()

    session_config = RunwaySessionConfig(
        store="sessions",
        key="runway_session",
        max_age=settings.session_max_age_seconds,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )
    engine = _template_engine(settings)
    app = Litestar(
        route_handlers=[
            *ROUTE_HANDLERS,
            create_static_files_router(
                path="/static",
                directories=[settings.static_dir],
                name="static",
                # URLs carry a content hash (static_url), so a changed file is a new URL.
                cache_control=CacheControlHeader(max_age=31_536_000, public=True),
            ),
        ],
        dependencies={**DEPENDENCIES, **FEATURE_DEPENDENCIES},
        state=state,
        stores={"sessions": DatabaseSessionStore(db)},
        middleware=[session_config.middleware],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.secure_cookies,
            cookie_httponly=True,
            cookie_samesite="lax",
            exclude=CSRF_EXEMPT,
        ),
        template_config=TemplateConfig(instance=engine),
        plugins=[HTMXPlugin()],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=None,
        logging_config=None,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        debug=settings.debug,
    )
    # Wrapped outside Litestar's router so that routing 404s and 405s get the headers and a request id too.
    app.asgi_handler = request_id_middleware(security_headers_middleware(_foreground(app.asgi_handler)))
    return app


def _foreground(app: ASGIApp) -> ASGIApp:
    """Count each HTTP request as foreground work, which a sync on the same event loop yields to."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        async with foreground.serving():
            await app(scope, receive, send)

    return middleware
