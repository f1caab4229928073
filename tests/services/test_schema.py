"""Services: the schema Alembic builds equals the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from domains.models_registry import import_all_models

pytestmark = pytest.mark.anyio


async def test_migrated_schema_matches_the_models(database):
    metadata = import_all_models()

    def diff(sync_connection):
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)

    async with database.write_engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_sqlite_connections_use_wal_and_enforce_foreign_keys(sqlite_database):
    async with sqlite_database.read() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() == 10000
