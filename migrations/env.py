"""Migrations: Alembic environment (async engine; batch mode so SQLite can alter tables)."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import JSON, BigInteger
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from domains.core.db import UTCDateTime
from domains.models_registry import import_all_models

config = context.config
target_metadata = import_all_models()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("RUNWAY_DATABASE_URL")
    if not url:
        raise RuntimeError("set RUNWAY_DATABASE_URL, or run migrations with `runway migrate`")
    return url


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render our column types as plain SQLAlchemy, so a migration never changes when domains/ does."""
    if type_ != "type":
        return False
    imports = autogen_context.imports  # type: ignore[attr-defined]
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    variants = getattr(obj, "_variant_mapping", None)
    if isinstance(obj, JSON) and variants:
        imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    if isinstance(obj, BigInteger) and variants:
        return "sa.BigInteger().with_variant(sa.Integer(), 'sqlite')"
    return False


def _configure(connection: Connection | None = None, **kwargs: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        **kwargs,  # type: ignore[arg-type]
    )


def run_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
