"""Domain core: storage of server-side web sessions in the shared database (so instances share logins)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, cast

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from domains.core.db import RowReader, utcnow
from domains.core.models import WebSession


async def load_session(session: RowReader, key: str, now: dt.datetime | None = None) -> bytes | None:
    row = (await session.execute(_session_by_key(), {"key": key})).first()
    if row is None:
        return None
    data, expires_at = row
    if expires_at is not None and expires_at <= (now or utcnow()):
        return None
    return bytes(data)


@functools.cache
def _session_by_key() -> Any:
    """Every request reads its session: a statement built once, selecting table columns (no ORM load)."""
    table = cast(Any, WebSession.__table__)
    return select(table.c.data, table.c.expires_at).where(table.c.key == bindparam("key"))


async def save_session(session: AsyncSession, key: str, data: bytes, expires_at: dt.datetime | None) -> None:
    row = await session.get(WebSession, key)
    if row is None:
        session.add(WebSession(key=key, data=data, expires_at=expires_at))
    else:
        row.data = data
        row.expires_at = expires_at


async def session_expiry(session: AsyncSession, key: str) -> dt.datetime | None:
    return await session.scalar(select(WebSession.expires_at).where(WebSession.key == key))


async def delete_session(session: AsyncSession, key: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.key == key))


async def delete_all_sessions(session: AsyncSession) -> None:
    await session.execute(delete(WebSession))


async def purge_expired_sessions(session: AsyncSession, now: dt.datetime | None = None) -> int:
    result = await session.execute(delete(WebSession).where(WebSession.expires_at <= (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)
