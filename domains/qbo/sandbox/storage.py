"""Domain (QBO sandbox): the sandbox's own database — QBO documents as JSON per (realm, entity, Id).

Besides documents (with SyncToken, timestamps, deleted and active flags beside the JSON so queries and
CDC can filter without decoding), it keeps request-id replays, sent emails and OAuth codes and tokens.
SQLAlchemy Core on its own MetaData: nothing here touches Runway's schema.

SQLite has one writer at a time, so writes are serialised by one in-process lock. An in-memory database
is a single shared connection (StaticPool); there reads take the same lock, because a read finishing on
that connection would roll back a write in progress.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from domains.qbo.sandbox import codec
from domains.qbo.sandbox.entities import is_active, name_key

metadata = MetaData()

realms_table = Table(
    "sandbox_realms",
    metadata,
    Column("realm_id", String(32), primary_key=True),
    Column("company_name", String(200), nullable=False),
    Column("next_id", BigInteger, nullable=False),
    Column("created_utc", String(20), nullable=False),
)

entities_table = Table(
    "sandbox_entities",
    metadata,
    Column("realm_id", String(32), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("sync_token", BigInteger, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("name_key", String(300), nullable=True),
    Column("created_utc", String(20), nullable=False),
    Column("updated_utc", String(20), nullable=False),
    Column("doc", Text, nullable=False),
    Index("ix_sandbox_entities_list", "realm_id", "entity", "deleted", "active", "id"),
    Index("ix_sandbox_entities_changed", "realm_id", "entity", "updated_utc"),
    Index("ix_sandbox_entities_name", "realm_id", "name_key"),
)

requests_table = Table(
    "sandbox_requests",
    metadata,
    Column("realm_id", String(32), primary_key=True),
    Column("request_id", String(100), primary_key=True),
    Column("body", LargeBinary, nullable=False),
    Column("created_utc", String(20), nullable=False),
)

sent_emails_table = Table(
    "sent_emails",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("realm_id", String(32), nullable=False, index=True),
    Column("entity", String(64), nullable=False),
    Column("entity_id", String(20), nullable=False),
    Column("address", String(320), nullable=False),
    Column("sent_utc", String(20), nullable=False),
)

oauth_codes_table = Table(
    "sandbox_oauth_codes",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("client_id", String(200), nullable=False),
    Column("realm_id", String(32), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("expires_utc", String(20), nullable=False),
    Column("used", Boolean, nullable=False),
)

oauth_tokens_table = Table(
    "sandbox_oauth_tokens",
    metadata,
    Column("token", String(200), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("grant_id", String(40), nullable=False, index=True),
    Column("client_id", String(200), nullable=False),
    Column("realm_id", String(32), nullable=False, index=True),
    Column("scope", Text, nullable=False),
    Column("expires_utc", String(20), nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("created_utc", String(20), nullable=False),
)

# Realm ids look like QBO sandbox company ids (16 digits) and are handed out in order.
REALM_ID_BASE = 9_130_350_000_000_000

_COLUMNS = {
    "id": entities_table.c.id,
    "active": entities_table.c.active,
    "updated_utc": entities_table.c.updated_utc,
    "created_utc": entities_table.c.created_utc,
}


@dataclass
class StoredEntity:
    """One QBO document and the bookkeeping kept beside it."""

    realm_id: str
    entity: str
    id: int
    sync_token: int
    doc: dict[str, Any]
    created_utc: str
    updated_utc: str
    deleted: bool = False


@dataclass(frozen=True)
class Realm:
    realm_id: str
    company_name: str
    next_id: int
    created_utc: str


@dataclass(frozen=True)
class ColumnFilter:
    """A WHERE condition the database can answer from the columns kept beside the JSON."""

    column: str
    op: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class TokenRecord:
    token: str
    kind: str
    grant_id: str
    client_id: str
    realm_id: str
    scope: str
    expires_utc: str
    revoked: bool


@dataclass(frozen=True)
class CodeRecord:
    code: str
    client_id: str
    realm_id: str
    redirect_uri: str
    scope: str
    expires_utc: str
    used: bool


def _clause(item: ColumnFilter) -> ColumnElement[bool]:
    column = _COLUMNS[item.column]
    if item.op == "IN":
        return column.in_(item.values)
    value = item.values[0]
    operators: dict[str, Callable[[Any], ColumnElement[bool]]] = {
        "=": column.__eq__,
        "<": column.__lt__,
        ">": column.__gt__,
        "<=": column.__le__,
        ">=": column.__ge__,
    }
    return operators[item.op](value)


def _stored(row: Any) -> StoredEntity:
    return StoredEntity(
        realm_id=row.realm_id,
        entity=row.entity,
        id=row.id,
        sync_token=row.sync_token,
        doc=codec.loads(row.doc),
        created_utc=row.created_utc,
        updated_utc=row.updated_utc,
        deleted=bool(row.deleted),
    )


class Tx:
    """Statements on one connection; inside `SandboxStorage.write()` they share one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # Realms

    async def realm(self, realm_id: str) -> Realm | None:
        row = (
            await self.conn.execute(select(realms_table).where(realms_table.c.realm_id == realm_id))
        ).first()
        return Realm(row.realm_id, row.company_name, row.next_id, row.created_utc) if row else None

    async def realms(self) -> list[Realm]:
        rows = await self.conn.execute(select(realms_table).order_by(realms_table.c.realm_id))
        return [Realm(r.realm_id, r.company_name, r.next_id, r.created_utc) for r in rows]

    async def create_realm(self, company_name: str, created_utc: str, realm_id: str | None = None) -> str:
        if realm_id is None:
            highest = (await self.conn.execute(select(func.count()).select_from(realms_table))).scalar_one()
            candidate = REALM_ID_BASE + int(highest) + 1
            while await self.realm(str(candidate)) is not None:
                candidate += 1
            realm_id = str(candidate)
        elif await self.realm(realm_id) is not None:
            raise ValueError(f"realm {realm_id} already exists")
        await self.conn.execute(
            insert(realms_table).values(
                realm_id=realm_id, company_name=company_name, next_id=1, created_utc=created_utc
            )
        )
        return realm_id

    async def rename_realm(self, realm_id: str, company_name: str) -> None:
        await self.conn.execute(
            update(realms_table).where(realms_table.c.realm_id == realm_id).values(company_name=company_name)
        )

    async def set_next_id(self, realm_id: str, next_id: int) -> None:
        await self.conn.execute(
            update(realms_table).where(realms_table.c.realm_id == realm_id).values(next_id=next_id)
        )

    # Documents

    async def get(self, realm_id: str, entity: str, entity_id: int) -> StoredEntity | None:
        t = entities_table
        row = (
            await self.conn.execute(
                select(t).where(t.c.realm_id == realm_id, t.c.entity == entity, t.c.id == entity_id)
            )
        ).first()
        return _stored(row) if row else None

    async def first(self, realm_id: str, entity: str) -> StoredEntity | None:
        """The lowest-Id live document of a type (CompanyInfo and Preferences have exactly one)."""
        t = entities_table
        row = (
            await self.conn.execute(
                select(t)
                .where(t.c.realm_id == realm_id, t.c.entity == entity, t.c.deleted.is_(False))
                .order_by(t.c.id)
                .limit(1)
            )
        ).first()
        return _stored(row) if row else None

    async def put(self, stored: StoredEntity) -> None:
        """Insert or replace one document."""
        t = entities_table
        values = {
            "sync_token": stored.sync_token,
            "active": is_active(stored.entity, stored.doc),
            "deleted": stored.deleted,
            "name_key": None if stored.deleted else name_key(stored.entity, stored.doc),
            "created_utc": stored.created_utc,
            "updated_utc": stored.updated_utc,
            "doc": codec.dumps(stored.doc).decode(),
        }
        result = await self.conn.execute(
            update(t)
            .where(t.c.realm_id == stored.realm_id, t.c.entity == stored.entity, t.c.id == stored.id)
            .values(**values)
        )
        if result.rowcount == 0:
            await self.conn.execute(
                insert(t).values(realm_id=stored.realm_id, entity=stored.entity, id=stored.id, **values)
            )

    async def insert_many(self, rows: Sequence[StoredEntity]) -> None:
        """Insert new documents in one statement (seeding)."""
        if not rows:
            return
        await self.conn.execute(
            insert(entities_table),
            [
                {
                    "realm_id": row.realm_id,
                    "entity": row.entity,
                    "id": row.id,
                    "sync_token": row.sync_token,
                    "active": is_active(row.entity, row.doc),
                    "deleted": row.deleted,
                    "name_key": None if row.deleted else name_key(row.entity, row.doc),
                    "created_utc": row.created_utc,
                    "updated_utc": row.updated_utc,
                    "doc": codec.dumps(row.doc).decode(),
                }
                for row in rows
            ],
        )

    def _where(
        self, realm_id: str, entity: str, filters: Iterable[ColumnFilter]
    ) -> list[ColumnElement[bool]]:
        t = entities_table
        clauses: list[ColumnElement[bool]] = [
            t.c.realm_id == realm_id,
            t.c.entity == entity,
            t.c.deleted.is_(False),
        ]
        clauses.extend(_clause(item) for item in filters)
        return clauses

    async def select(
        self,
        realm_id: str,
        entity: str,
        filters: Sequence[ColumnFilter] = (),
        *,
        order_column: str = "id",
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[StoredEntity]:
        """Live documents matching `filters`, ordered by a kept column (ties by Id)."""
        t = entities_table
        column = _COLUMNS[order_column]
        ordering = [column.desc(), t.c.id.desc()] if descending else [column.asc(), t.c.id.asc()]
        stmt = select(t).where(and_(*self._where(realm_id, entity, filters))).order_by(*ordering)
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        return [_stored(row) for row in await self.conn.execute(stmt)]

    async def count(self, realm_id: str, entity: str, filters: Sequence[ColumnFilter] = ()) -> int:
        stmt = (
            select(func.count())
            .select_from(entities_table)
            .where(and_(*self._where(realm_id, entity, filters)))
        )
        return int((await self.conn.execute(stmt)).scalar_one())

    async def changed_since(
        self, realm_id: str, entity_names: Sequence[str], since_utc: str, limit: int
    ) -> list[StoredEntity]:
        """Documents (deleted ones too) of the given types changed at or after `since_utc`, oldest first."""
        t = entities_table
        stmt = (
            select(t)
            .where(t.c.realm_id == realm_id, t.c.entity.in_(entity_names), t.c.updated_utc >= since_utc)
            .order_by(t.c.updated_utc, t.c.id)
            .limit(limit)
        )
        return [_stored(row) for row in await self.conn.execute(stmt)]

    async def entity_types(self, realm_id: str) -> set[str]:
        t = entities_table
        rows = await self.conn.execute(select(t.c.entity).where(t.c.realm_id == realm_id).distinct())
        return {row.entity for row in rows}

    async def name_taken(self, realm_id: str, key: str, entity: str, entity_id: int | None) -> bool:
        t = entities_table
        stmt = select(t.c.entity, t.c.id).where(
            t.c.realm_id == realm_id, t.c.name_key == key, t.c.deleted.is_(False)
        )
        for row in await self.conn.execute(stmt):
            if not (row.entity == entity and row.id == entity_id):
                return True
        return False

    # Request-id replays

    async def replay(self, realm_id: str, request_id: str) -> bytes | None:
        t = requests_table
        row = (
            await self.conn.execute(
                select(t.c.body).where(t.c.realm_id == realm_id, t.c.request_id == request_id)
            )
        ).first()
        return bytes(row.body) if row else None

    async def remember(self, realm_id: str, request_id: str, body: bytes, created_utc: str) -> None:
        await self.conn.execute(
            insert(requests_table).values(
                realm_id=realm_id, request_id=request_id, body=body, created_utc=created_utc
            )
        )

    # Sent emails

    async def record_email(
        self, realm_id: str, entity: str, entity_id: str, address: str, sent_utc: str
    ) -> None:
        await self.conn.execute(
            insert(sent_emails_table).values(
                realm_id=realm_id, entity=entity, entity_id=entity_id, address=address, sent_utc=sent_utc
            )
        )

    async def emails(self, realm_id: str) -> list[dict[str, str]]:
        t = sent_emails_table
        rows = await self.conn.execute(select(t).where(t.c.realm_id == realm_id).order_by(t.c.id))
        return [
            {"entity": r.entity, "id": r.entity_id, "address": r.address, "sent_utc": r.sent_utc}
            for r in rows
        ]

    # OAuth

    async def insert_code(self, record: CodeRecord) -> None:
        await self.conn.execute(insert(oauth_codes_table).values(**record.__dict__))

    async def code(self, code: str) -> CodeRecord | None:
        t = oauth_codes_table
        row = (await self.conn.execute(select(t).where(t.c.code == code))).first()
        if row is None:
            return None
        return CodeRecord(
            row.code,
            row.client_id,
            row.realm_id,
            row.redirect_uri,
            row.scope,
            row.expires_utc,
            bool(row.used),
        )

    async def use_code(self, code: str) -> None:
        t = oauth_codes_table
        await self.conn.execute(update(t).where(t.c.code == code).values(used=True))

    async def insert_token(self, record: TokenRecord, created_utc: str) -> None:
        await self.conn.execute(insert(oauth_tokens_table).values(**record.__dict__, created_utc=created_utc))

    async def token(self, token: str) -> TokenRecord | None:
        t = oauth_tokens_table
        row = (await self.conn.execute(select(t).where(t.c.token == token))).first()
        if row is None:
            return None
        return TokenRecord(
            row.token,
            row.kind,
            row.grant_id,
            row.client_id,
            row.realm_id,
            row.scope,
            row.expires_utc,
            bool(row.revoked),
        )

    async def revoke_token(self, token: str) -> None:
        t = oauth_tokens_table
        await self.conn.execute(update(t).where(t.c.token == token).values(revoked=True))

    async def revoke_grant(self, grant_id: str) -> None:
        t = oauth_tokens_table
        await self.conn.execute(update(t).where(t.c.grant_id == grant_id).values(revoked=True))

    async def expire_access_tokens(self, realm_id: str, expired_utc: str) -> int:
        t = oauth_tokens_table
        result = await self.conn.execute(
            update(t)
            .where(t.c.realm_id == realm_id, t.c.kind == "access", t.c.expires_utc > expired_utc)
            .values(expires_utc=expired_utc)
        )
        return int(result.rowcount)

    async def revoke_refresh_tokens(self, realm_id: str) -> int:
        t = oauth_tokens_table
        result = await self.conn.execute(
            update(t)
            .where(t.c.realm_id == realm_id, t.c.kind == "refresh", t.c.revoked.is_(False))
            .values(revoked=True)
        )
        return int(result.rowcount)


class SandboxStorage:
    """The sandbox database: `read()` and `write()` hand out a `Tx`; each `write()` is one transaction."""

    def __init__(
        self,
        database_url: str = "sqlite+aiosqlite:///:memory:",
        *,
        clock: Callable[[], dt.datetime] = codec.utc_now,
    ) -> None:
        self.database_url = database_url
        self.clock = clock
        url = make_url(database_url)
        self._memory = url.database in (None, "", ":memory:") or "mode=memory" in database_url
        if url.get_backend_name() == "sqlite" and not self._memory and url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        self._engine: AsyncEngine = create_async_engine(database_url)
        if url.get_backend_name() == "sqlite":
            event.listen(self._engine.sync_engine, "connect", self._sqlite_pragmas)
        self._lock = asyncio.Lock()
        self._opened = False

    def _sqlite_pragmas(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if not self._memory:
            # WAL lets reads proceed while the single writer commits.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    async def open(self) -> None:
        """Create the tables if needed (idempotent; every entry point calls it)."""
        if self._opened:
            return
        async with self._lock:
            if not self._opened:
                async with self._engine.begin() as conn:
                    await conn.run_sync(metadata.create_all)
                self._opened = True

    async def close(self) -> None:
        await self._engine.dispose()
        self._opened = False

    async def reset(self) -> None:
        """Drop every sandbox table and create them again: all companies, tokens and replays are gone."""
        async with self._lock, self._engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)
        self._opened = True

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        await self.open()
        if self._memory:
            async with self._lock, self._engine.connect() as conn:
                yield Tx(conn)
        else:
            async with self._engine.connect() as conn:
                yield Tx(conn)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        await self.open()
        async with self._lock, self._engine.begin() as conn:
            yield Tx(conn)
