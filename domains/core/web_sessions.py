"""Domain core: storage of server-side web sessions in the shared database (so instances share logins)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from domains.core.db import utcnow
from domains.core.models import WebSession


async def load_session(session: AsyncSession, key: str, now: dt.datetime | None = None) -> bytes | None:
    row = await session.get(WebSession, key)
    if row is None:
        return None
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return None
    return row.data


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
