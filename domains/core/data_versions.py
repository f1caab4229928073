"""Domain core: the data-version stamps of a business (read by caches, replaced by every writer).

`stamp` changes with the synced books (a finished sync, a QBO write of ours); `console_stamp` with the
decision queue. A new stamp is random, so a cache keyed by one can never mistake another database's data,
or an older state, for the current one.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from domains.core.db import RowReader, RowWriter, dialect_insert, dialect_of, utcnow
from domains.core.models import BusinessDataVersion


@dataclass(frozen=True, slots=True)
class DataVersions:
    """A business's stamps; ``None`` where nothing was ever stored (never cache under ``None``)."""

    books: str | None
    console: str | None


async def data_versions(session: RowReader, business_id: int, *, lock: bool = False) -> DataVersions:
    """Both stamps. ``lock``: hold the row until the transaction ends (PostgreSQL; SQLite writers are
    serialised anyway), so a writer knows which state its change was made on."""
    row = (await session.execute(_versions_of(lock), {"business_id": business_id})).first()
    return DataVersions(None, None) if row is None else DataVersions(row[0], row[1])


@functools.cache
def _versions_of(lock: bool) -> Any:
    """Read on every console request: built once, on the table (no ORM loading)."""
    table = cast(Any, BusinessDataVersion.__table__)
    statement = select(table.c.stamp, table.c.console_stamp).where(
        table.c.business_id == bindparam("business_id")
    )
    return statement.with_for_update() if lock else statement


async def data_version(session: AsyncSession, business_id: int) -> str | None:
    """The stamp of the business's books."""
    return (await data_versions(session, business_id)).books


def versions_after(session: RowWriter, business_id: int, before: DataVersions) -> DataVersions:
    """The stamps this transaction commits: `before` (read under lock) with each one it replaced.

    A first row's books stamp is not reported (it stays ``None``, which no cache is keyed by)."""
    bumped = session.info.get(_BUMPED, {})
    return DataVersions(
        bumped.get((business_id, "stamp"), before.books),
        bumped.get((business_id, "console_stamp"), before.console),
    )


async def bump_data_version(session: RowWriter, business_id: int) -> str:
    """Give the business's books a new stamp, in the caller's transaction (it commits with the change)."""
    return await _bump(session, business_id, "stamp")


async def bump_console_version(session: RowWriter, business_id: int) -> str:
    """Give the business's decision queue a new stamp, in the caller's transaction."""
    return await _bump(session, business_id, "console_stamp")


# session.info key: the stamps this transaction wrote, by (business id, column).
_BUMPED = "runway.bumped_data_versions"


async def _bump(session: RowWriter, business_id: int, column: str) -> str:
    stamp = secrets.token_hex(16)
    # A first row needs a books stamp too: a fresh one only makes caches read the books once more.
    values = {"business_id": business_id, "stamp": stamp, "console_stamp": None, "changed_at": utcnow()}
    values[column] = stamp
    await session.execute(_bump_statement(dialect_of(session), column), values)
    session.info.setdefault(_BUMPED, {})[(business_id, column)] = stamp
    return stamp


@functools.cache
def _bump_statement(dialect: str, column: str) -> Any:
    """The upsert that gives one stamp a new value, built once per dialect and column."""
    table = cast(Any, BusinessDataVersion.__table__)
    insert = dialect_insert(dialect)
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.business_id],
        set_={column: statement.excluded[column], "changed_at": statement.excluded.changed_at},
    )
