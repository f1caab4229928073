"""Domain (QBO sandbox): running it — `serve` (uvicorn on a database file), `reset`, `seed` from files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from litestar import Litestar

from domains.qbo.sandbox.asgi import create_sandbox_app
from domains.qbo.sandbox.config import SandboxConfig
from domains.qbo.sandbox.seed import load_seed_dir
from domains.qbo.sandbox.storage import SandboxStorage

DEFAULT_DB_PATH = Path("var/qbo-sandbox.db")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700


def database_url(db_path: str | Path) -> str:
    """The SQLAlchemy URL of a sandbox database file (`:memory:` for a throwaway one)."""
    if str(db_path) == ":memory:":
        return "sqlite+aiosqlite:///:memory:"
    return f"sqlite+aiosqlite:///{Path(db_path)}"


def build_app(db_path: str | Path = DEFAULT_DB_PATH, **config_fields: Any) -> Litestar:
    """The sandbox app on a database file; `config_fields` are other `SandboxConfig` fields."""
    return create_sandbox_app(SandboxConfig(database_url=database_url(db_path), **config_fields))


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    db_path: str | Path = DEFAULT_DB_PATH,
    *,
    log_level: str = "info",
    **config_fields: Any,
) -> None:
    """Serve the sandbox over HTTP with uvicorn until interrupted (one worker: SQLite has one writer)."""
    import uvicorn

    uvicorn.run(build_app(db_path, **config_fields), host=host, port=port, log_level=log_level)


async def _reset(db_path: str | Path) -> None:
    storage = SandboxStorage(database_url(db_path))
    try:
        await storage.reset()
    finally:
        await storage.close()


def reset(db_path: str | Path = DEFAULT_DB_PATH) -> None:
    """Empty the sandbox database: every company, token, replay and sent email is removed."""
    asyncio.run(_reset(db_path))


async def _seed(db_path: str | Path, seed_dir: str | Path, company_name: str, realm_id: str | None) -> str:
    storage = SandboxStorage(database_url(db_path))
    try:
        return await load_seed_dir(storage, seed_dir, company_name, realm_id=realm_id)
    finally:
        await storage.close()


def seed(
    seed_dir: str | Path,
    company_name: str,
    db_path: str | Path = DEFAULT_DB_PATH,
    realm_id: str | None = None,
) -> str:
    """Add a company loaded from a directory of QBO response files; returns its realm id."""
    return asyncio.run(_seed(db_path, seed_dir, company_name, realm_id))
