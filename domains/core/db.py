"""Domain core: the async database (engine, sessions, SQLite pragmas) and the declarative base.

`Database.read()` opens a short read session; `Database.write()` opens a write transaction that on SQLite
starts with BEGIN IMMEDIATE and is serialised in-process, because SQLite has one writer at a time and its
busy handler (sleep-and-retry) is what makes latency spike under contention. PostgreSQL needs neither.

On SQLite, reads run on the event loop's own thread (`_InlineSqliteConnection`) and writes on aiosqlite's
worker thread, one round trip a statement (`_OneTripSqliteConnection`); see those classes for why.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import aiosqlite
import msgspec
import structlog
from aiosqlite.context import contextmanager as aiosqlite_result
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator

from domains.core.driver_statements import DriverStatement

log = structlog.get_logger("runway.db")

T = TypeVar("T")

# Stable constraint names so Alembic batch migrations on SQLite can find and alter constraints.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL, JSON text on SQLite: the raw QBO payloads and small structured values.
JSONType = JSON().with_variant(JSONB(), "postgresql")

# JSON columns keep QBO's Decimal numbers exact: written as JSON numbers with every digit they had, read
# back as Decimal (a float would round 0.10000000000000000000001 and turn 1210.50 into 1210.5).
_json_encoder = msgspec.json.Encoder(decimal_format="number")


def json_serializer(value: Any) -> str:
    """JSON text for a JSON column; Decimals are written as exact numbers, never through float."""
    return _json_encoder.encode(value).decode()


def json_deserializer(text: str | bytes) -> Any:
    """A JSON column's value with non-integral numbers as Decimal, so they read back exactly as stored."""
    return json.loads(text, parse_float=Decimal)


# Primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias, so it autoincrements) on SQLite.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores no zone; we put UTC back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every table in Runway."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def configure_sqlite_connection(
    connection: sqlite3.Connection, *, busy_timeout_ms: int, autocheckpoint: bool = True
) -> None:
    """The settings of every connection Runway opens on a SQLite file (the engines', the writer process's)."""
    # Let SQLAlchemy (or the caller), not the driver, decide when transactions begin (BEGIN IMMEDIATE).
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    # WAL is a property of the file, kept once set. Setting it again is not free: while another process
    # holds the write lock it fails at once ("database is locked"), so a connection opened then would.
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    if not autocheckpoint:
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # `Database` checkpoints in a thread instead
    cursor.close()


def _install_sqlite_pragmas(
    engine: Engine, *, immediate: bool, busy_timeout_ms: int = 10_000, autocheckpoint: bool = True
) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        configure_sqlite_connection(
            dbapi_connection, busy_timeout_ms=busy_timeout_ms, autocheckpoint=autocheckpoint
        )

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# How long a small write waits for another process's write lock (as the threaded writes' busy_timeout).
_BUSY_WAIT_SECONDS = 10.0
# Its pauses between tries (`_when_not_busy`): none for the first `_BUSY_SPIN_SECONDS` (a turn of the
# loop), then steady until `_BUSY_STEADY_SECONDS`, then doubling.
_BUSY_SPIN_SECONDS = 0.002
_BUSY_PAUSE_SECONDS = 0.001
_BUSY_STEADY_SECONDS = 0.025
_BUSY_PAUSE_MAX_SECONDS = 0.05
# Between background WAL checkpoints (`Database(background_checkpoints=True)`).
_CHECKPOINT_SECONDS = 0.5


async def _when_not_busy(begin: Callable[[], Awaitable[T]]) -> T:
    """`begin()` (a transaction's BEGIN IMMEDIATE), again while another process holds SQLite's write lock:
    waited for asynchronously, so the event loop goes on, for as long as the busy timeout of the threaded
    writes would have waited.

    At every turn of the loop for the first `_BUSY_SPIN_SECONDS`: a writer process's part holds the lock
    under a millisecond, and a sleep wakes two milliseconds later at the earliest (the loop's timers have
    millisecond resolution), which 2.5% of keypresses during a sync waited on top of the part. Then every
    millisecond, as another process's longer writes are a millisecond or two each (doubling the pause
    from the start made a request wait up to twice as long as the lock was held), and then with backoff,
    up to `_BUSY_PAUSE_MAX_SECONDS` between tries."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + _BUSY_WAIT_SECONDS
    pause = _BUSY_PAUSE_SECONDS
    while True:
        try:
            return await begin()
        except OperationalError as error:
            if not _is_busy(error) or loop.time() + pause > deadline:
                raise
        if loop.time() - started < _BUSY_SPIN_SECONDS:
            await asyncio.sleep(0)  # the loop's other work goes on meanwhile
            continue
        await asyncio.sleep(pause)
        if loop.time() - started > _BUSY_STEADY_SECONDS:
            pause = min(pause * 2, _BUSY_PAUSE_MAX_SECONDS)


def checkpoint_wal(connection: sqlite3.Connection) -> tuple[int, int, int]:
    """One PASSIVE checkpoint: (1 if it could not finish, WAL pages, pages copied back)."""
    row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def _is_busy(error: OperationalError) -> bool:
    original = error.orig
    code = getattr(original, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_BUSY or "database is locked" in str(original)


class _RunAtOnce:
    """Stands in for aiosqlite's job queue: runs each job as it is queued, on the caller's thread."""

    def put_nowait(self, job: tuple[asyncio.Future[Any] | None, Any]) -> None:
        future, function = job
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting caller, as aiosqlite's thread does
            if future is not None:
                future.set_exception(error)
        else:
            if future is not None:
                future.set_result(result)


class _InlineSqliteConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the event loop's thread instead of a worker thread.

    Why, for reads: a read of a few rows takes SQLite microseconds, while aiosqlite hands every call (cursor,
    execute, fetch, close — four a statement) to its thread and back, two thread wake-ups each; measured
    here, a one-statement read transaction costs about 0.8 ms that way and 0.4 ms inline. In WAL mode a
    reader never waits for a writer, so an inline read never blocks the loop on a lock. Writes keep
    aiosqlite's thread: BEGIN IMMEDIATE may wait (busy_timeout) for another process's write.
    """

    def __init__(self, connector: Any) -> None:
        super().__init__(connector, iter_chunk_size=64)
        # SQLAlchemy's adapter also queues some calls itself (setting the isolation level).
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    def __await__(self) -> Any:
        return self._open().__await__()

    async def _open(self) -> _InlineSqliteConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


class _OneTripCursor(aiosqlite.Cursor):
    """Executes and fetches in one trip to the worker thread; closes on the caller's thread.

    SQLAlchemy's adapter makes four calls a statement (open a cursor, execute, fetch all, close), each a
    round trip to aiosqlite's thread; only execute and fetch touch the database. Opening and closing a
    cursor are bookkeeping, safe on the loop's thread while the connection is idle (one call at a time).
    """

    def __init__(self, conn: aiosqlite.Connection, cursor: sqlite3.Cursor) -> None:
        super().__init__(conn, cursor)
        self._fetched: list[Any] | None = None

    async def execute(self, sql: str, parameters: Any = None) -> _OneTripCursor:
        cursor = self._cursor

        def execute_and_fetch() -> list[Any] | None:
            cursor.execute(sql, () if parameters is None else parameters)
            return cursor.fetchall() if cursor.description else None

        self._fetched = await self._execute(execute_and_fetch)
        return self

    async def fetchall(self) -> list[Any]:
        fetched, self._fetched = self._fetched, None
        return fetched if fetched is not None else list(await super().fetchall())

    async def fetchone(self) -> Any:
        if self._fetched is None:
            return await super().fetchone()
        return self._fetched.pop(0) if self._fetched else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        if self._fetched is None:
            return list(await super().fetchmany(size))
        count = self.arraysize if size is None else size
        rows, self._fetched = self._fetched[:count], self._fetched[count:]
        return rows

    async def close(self) -> None:
        self._fetched = None
        self._cursor.close()


class _OneTripSqliteConnection(aiosqlite.Connection):
    """aiosqlite's connection (database work on its worker thread) with `_OneTripCursor` cursors.

    Why the thread stays for writes: BEGIN IMMEDIATE may wait up to busy_timeout for another process's
    write, and a sync's bulk upserts run for tens of milliseconds; neither may hold up the event loop.
    """

    def __init__(self, connector: Any) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._thread.daemon = True  # as SQLAlchemy does for its own aiosqlite connections

    @aiosqlite_result
    async def cursor(self) -> aiosqlite.Cursor:
        return _OneTripCursor(self, self._conn.cursor())


def _sqlite_creator(url: str, connection: Callable[[Any], aiosqlite.Connection]) -> Any:
    database = make_url(url).database or ":memory:"

    async def connect() -> aiosqlite.Connection:
        return await connection(
            lambda: sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        )

    return connect


def _sync_sqlite_engine(database: str, *, pool_size: int, options: dict[str, Any]) -> Engine:
    return create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(database, isolation_level=None, check_same_thread=False),
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=pool_size,
        **options,
    )


async def run_on_sqlite_driver(connection: AsyncConnection, work: Callable[[sqlite3.Connection], T]) -> T:
    """`work(driver_connection)` on a SQLite connection's own thread (aiosqlite's, or the loop's for an
    inline connection), in one trip, inside the transaction the connection is in.

    For a bulk write of many statements: each statement through SQLAlchemy is a trip to the driver's thread
    and back, and while the event loop is busy (a sync mapping its next page) every trip back waits for it.
    A `sqlite3.Error` comes out as SQLAlchemy's exception of its kind (`IntegrityError`, ...).
    """
    fairy = await connection.get_raw_connection()
    driver = fairy.driver_connection
    if not isinstance(driver, aiosqlite.Connection):
        raise TypeError(f"not a SQLite connection: {type(driver).__name__}")
    return await driver._execute(functools.partial(_sqlalchemy_errors, work, driver._conn))


def _sqlalchemy_errors(work: Callable[[sqlite3.Connection], T], database: sqlite3.Connection) -> T:
    """`work(database)`, a `sqlite3.Error` raised as SQLAlchemy's exception of its kind."""
    try:
        return work(database)
    except sqlite3.Error as error:
        raise DBAPIError.instance(None, None, error, sqlite3.Error) from error


def in_write_transaction(work: Callable[[sqlite3.Connection], T], database: sqlite3.Connection) -> T:
    """`work(database)` in a write transaction of its own: committed, or rolled back if it raises."""
    database.execute("BEGIN IMMEDIATE")
    try:
        result = work(database)
    except BaseException:
        if database.in_transaction:
            database.execute("ROLLBACK")
        raise
    database.execute("COMMIT")
    return result


class BulkWriter(Protocol):
    """Runs `work(connection)` as a write transaction of its own, elsewhere (a writer process), and
    answers its result; SQLite's errors come back as `sqlite3.Error`."""

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T: ...


class RowReader(Protocol):
    """What `Database.quick_read` hands out, and all that the functions reading with it use: statements
    run to plain rows. An `AsyncSession` is one too, so those functions serve any read."""

    async def execute(self, statement: Any, params: Any = None, /) -> Any: ...

    async def scalar(self, statement: Any, params: Any = None, /) -> Any: ...


class RowWriter(RowReader, Protocol):
    """What `Database.quick_write` hands out: a `RowReader` whose statements write too, in one transaction
    committed at the end. `get_bind()` tells the dialect; `info` holds what the transaction reports
    (for example the data stamps it replaced). An `AsyncSession` is one too."""

    @property
    def info(self) -> dict[Any, Any]: ...

    def get_bind(self) -> Any: ...


# A pooled PostgreSQL connection idle this long is pinged before it is used again (see below).
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_connections_left_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle in the pool: SQLAlchemy's pre-ping checks
    every checkout, and on asyncpg its ping is three round trips (BEGIN, a statement, ROLLBACK), each
    read and write of a request paying them. A connection back in use within a second is alive but for a
    server that went away in that second: its request then fails, and the pool starts afresh."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _now_idle(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", float("-inf")) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # any failure: the pool replaces the connection and tries again
            raise DisconnectionError(str(exc)) from exc


def dialect_insert(dialect: str) -> Any:
    """The INSERT construct with ON CONFLICT of `dialect` ("sqlite", "postgresql"), for upserts."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def dialect_of(session: RowWriter) -> str:
    """The database dialect's name ("sqlite", "postgresql") of a session or quick writer."""
    return str(session.get_bind().dialect.name)


# Compiled statements by the id of the statement, the dialect's name and (INSERT and UPDATE) the parameters'
# names; each entry keeps its statement, so the id is never another's meanwhile. Only the quick connections'
# statements come here, and those are built once: the map stays small, and it is emptied if it ever grows
# past that (statements built per call would otherwise fill it).
_DRIVER_STATEMENTS: dict[tuple[int, str, tuple[str, ...]], tuple[Any, DriverStatement | None]] = {}
_DRIVER_STATEMENTS_MAX = 512


def _driver_statement(statement: Any, dialect: Any, params: dict[str, Any] | None) -> DriverStatement | None:
    # An INSERT's or UPDATE's columns are the parameters it is given, as SQLAlchemy compiles it.
    names = tuple(params) if params and statement.is_dml and not statement.is_delete else ()
    key = (id(statement), dialect.name, names)
    entry = _DRIVER_STATEMENTS.get(key)
    if entry is None:
        if len(_DRIVER_STATEMENTS) >= _DRIVER_STATEMENTS_MAX:
            _DRIVER_STATEMENTS.clear()
        entry = _DRIVER_STATEMENTS[key] = (statement, DriverStatement.of(statement, dialect, names or None))
    return entry[1]


class _SyncRowReader:
    """A quick connection on SQLite: each prebuilt statement runs on the driver's cursor once compiled
    (`driver_statements`), any other through SQLAlchemy."""

    __slots__ = ("_connection",)

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def execute(self, statement: Any, params: Any = None, /) -> Any:
        if isinstance(statement, Executable) and (params is None or isinstance(params, dict)):
            prepared = _driver_statement(statement, self._connection.dialect, params)
            rows = prepared.run(self._connection.connection.driver_connection, params) if prepared else None
            if rows is not None:
                return rows
        return self._connection.execute(statement, params)

    async def scalar(self, statement: Any, params: Any = None, /) -> Any:
        return (await self.execute(statement, params)).scalar()

    @property
    def info(self) -> dict[Any, Any]:
        return self._connection.info

    def get_bind(self) -> Connection:
        return self._connection


class _AsyncRowReader:
    __slots__ = ("_connection",)

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def execute(self, statement: Any, params: Any = None, /) -> Any:
        return await self._connection.execute(statement, params)

    async def scalar(self, statement: Any, params: Any = None, /) -> Any:
        return await self._connection.scalar(statement, params)


class Database:
    """The application's database: one object per process, shared by every request and worker.

    Holds no business state; it only hands out sessions. `url` is a SQLAlchemy async URL
    (`sqlite+aiosqlite:///path.db` or `postgresql+asyncpg://...`).
    """

    def __init__(self, url: str, *, echo: bool = False, background_checkpoints: bool = False) -> None:
        """`background_checkpoints` (a serving process on a SQLite file): the WAL is copied back into the
        database by a thread every `_CHECKPOINT_SECONDS` (see `_checkpoint_forever`), not by whichever
        commit finds it past 1,000 pages, which then takes 20-40 ms on the event loop."""
        self.url = url
        self.is_sqlite = is_sqlite(url)
        self._checkpoints_path: str | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        # The newest background checkpoint's (1 if it could not finish, WAL pages, pages copied back).
        self.last_checkpoint: tuple[int, int, int] | None = None
        engine_options: dict[str, Any] = {
            "echo": echo,
            "json_serializer": json_serializer,
            "json_deserializer": json_deserializer,
        }
        if self.is_sqlite:
            # Separate engines so that reads start a deferred transaction and writes an immediate one.
            self.read_engine = create_async_engine(
                url,
                async_creator=_sqlite_creator(url, _InlineSqliteConnection),
                pool_size=8,
                max_overflow=8,
                **engine_options,
            )
            self.write_engine = create_async_engine(
                url,
                async_creator=_sqlite_creator(url, _OneTripSqliteConnection),
                pool_size=2,
                max_overflow=2,
                **engine_options,
            )
            # Small writes (`write(small=True)`) on the loop's thread: they never wait inside SQLite for
            # another process's lock (busy_timeout 0) but retry asynchronously (`_small_write_session`).
            self.small_write_engine = create_async_engine(
                url,
                async_creator=_sqlite_creator(url, _InlineSqliteConnection),
                pool_size=2,
                max_overflow=2,
                **engine_options,
            )
            database = make_url(url).database or ":memory:"
            auto = not (background_checkpoints and database != ":memory:")
            if not auto:
                self._checkpoints_path = database
            _install_sqlite_pragmas(self.read_engine.sync_engine, immediate=False, autocheckpoint=auto)
            _install_sqlite_pragmas(self.write_engine.sync_engine, immediate=True, autocheckpoint=auto)
            _install_sqlite_pragmas(
                self.small_write_engine.sync_engine, immediate=True, busy_timeout_ms=0, autocheckpoint=auto
            )
            # `quick_read` and `quick_write`: SQLAlchemy's synchronous engine on the loop's thread. The reads
            # and small writes above run there too (inline connections), but through the asyncio adapter,
            # which costs about 70 µs a statement more: three times what the statements themselves take.
            # (An in-memory database is one per connection: there they use the engines above.)
            self.quick_engine: Engine | None = None
            self.quick_write_engine: Engine | None = None
            self._quick_reads: AsyncEngine = self.read_engine  # an in-memory database's
            if database != ":memory:":
                self.quick_engine = _sync_sqlite_engine(database, pool_size=8, options=engine_options)
                self.quick_write_engine = _sync_sqlite_engine(database, pool_size=2, options=engine_options)
                _install_sqlite_pragmas(self.quick_engine, immediate=False, autocheckpoint=auto)
                # No busy timeout: another process's lock is waited for asynchronously (see `_begun`).
                _install_sqlite_pragmas(
                    self.quick_write_engine, immediate=True, busy_timeout_ms=0, autocheckpoint=auto
                )
        else:
            engine = create_async_engine(url, pool_size=10, max_overflow=10, **engine_options)
            _ping_connections_left_idle(engine.sync_engine)
            self.read_engine = self.write_engine = self.small_write_engine = engine
            self.quick_engine = self.quick_write_engine = None
            # `quick_read` needs no transaction here: at READ COMMITTED each statement sees the newest
            # commits either way, and BEGIN and ROLLBACK were two more round trips per request.
            self._quick_reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._small_write_sessions = async_sessionmaker(self.small_write_engine, expire_on_commit=False)
        self._write_lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        # Where `write_in_one_trip` sends its writes in a process niced below requests (a sync process):
        # a writer process at the priority this one had (`domains.core.sqlite_writer`).
        self.bulk_writer: BulkWriter | None = None

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._write_lock is None or self._lock_loop is not loop:
            self._write_lock = asyncio.Lock()
            self._lock_loop = loop
            if self._checkpoints_path is not None:  # writes start here: so do their checkpoints
                self._checkpointer = loop.create_task(self._checkpoint_forever(self._checkpoints_path))
        return self._write_lock

    async def _checkpoint_forever(self, path: str) -> None:
        """Copy the WAL back into the database file every `_CHECKPOINT_SECONDS`, in a thread (SQLite does
        the I/O without the GIL): PASSIVE, so it never waits for readers or writers, nor they for it."""
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            while True:
                await asyncio.sleep(_CHECKPOINT_SECONDS)
                try:
                    self.last_checkpoint = await asyncio.to_thread(checkpoint_wal, connection)
                except sqlite3.Error as error:  # the next round tries again; nothing is lost meanwhile
                    log.warning("wal checkpoint failed", error=str(error))
        finally:
            connection.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads. Anything written through it is rolled back."""
        async with self._read_sessions() as session:
            try:
                yield session
            finally:
                # Detach first so objects already read stay usable after the rollback (which expires them).
                session.expunge_all()
                await session.rollback()

    @asynccontextmanager
    async def quick_read(self) -> AsyncIterator[RowReader]:
        """A read transaction for a few prebuilt Core statements (table columns, no ORM objects), as every
        request starts with: its session, its user, the register entry an action is about. On SQLite it
        runs on a synchronous connection, on the loop's thread as every SQLite read does."""
        if self.quick_engine is None:
            async with self._quick_reads.connect() as connection:
                yield _AsyncRowReader(connection)
            return
        with self.quick_engine.connect() as connection:  # closing it rolls the transaction back
            # Begun here, not by the first statement: statements on the driver (`_SyncRowReader`) would
            # each run in a transaction of their own, seeing different states of the database.
            connection.begin()
            yield _SyncRowReader(connection)

    @asynccontextmanager
    async def quick_write(self) -> AsyncIterator[RowWriter]:
        """`write(small=True)` for Core statements only (a triage action, a keypress's decision): on SQLite
        on a synchronous connection (see `quick_read`), committed on success, rolled back on any exception."""
        if self.quick_write_engine is None:
            async with self.write(small=True) as session:
                yield session
            return
        async with self._quick_write_transaction() as connection:
            yield _SyncRowReader(connection)

    @asynccontextmanager
    async def _quick_write_transaction(self) -> AsyncIterator[Connection]:
        """A write transaction on a synchronous connection on the loop's thread (SQLite files only):
        committed on success, rolled back on any exception."""
        assert self.quick_write_engine is not None
        async with self._lock():
            connection = await self._begun(self.quick_write_engine)
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            else:
                connection.commit()
            finally:
                connection.close()

    async def _begun(self, engine: Engine) -> Connection:
        """A connection of `engine` whose BEGIN IMMEDIATE has succeeded (see `_when_not_busy`)."""

        async def begin() -> Connection:
            # A new connection's set-up may meet the lock too (see `_install_sqlite_pragmas`).
            connection = engine.connect()
            try:
                connection.begin()
            except BaseException:
                connection.close()
                raise
            return connection

        return await _when_not_busy(begin)

    @asynccontextmanager
    async def write(self, *, small: bool = False) -> AsyncIterator[AsyncSession]:
        """One short write transaction: committed on success, rolled back on any exception.

        `small`: a transaction that writes a few rows (a keypress, a triage action). On SQLite it runs on
        the event loop's thread, which spares the thread round trips that, on a busy loop, each wait for
        the GIL while the write lock is held (measured: about 30% more keypresses a second at saturation);
        anything that writes many rows (a sync page) leaves it False, so the loop goes on meanwhile.
        """
        if not self.is_sqlite:
            async with self._write_sessions() as session, session.begin():
                yield session
            return
        async with self._lock():
            if not small:
                async with self._write_sessions() as session, session.begin():
                    yield session
                return
            session = await self._small_write_session()
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()
            finally:
                await session.close()

    async def write_in_one_trip(
        self, work: Callable[[sqlite3.Connection], T], *, on_loop_thread: bool = False
    ) -> T:
        """SQLite: `work(driver_connection)` as a write transaction of its own, begun, run and committed
        (rolled back if it raises) in one trip to a write connection's thread.

        For a bulk write while the process serves requests (a sync's page in parts): in `write()` each
        statement, the BEGIN and the COMMIT are trips back to the event loop, which waits its turn behind
        the requests being served, all the while holding the write lock every request's write waits for.
        Here the lock is held for the SQL alone. A `sqlite3.Error` comes out as SQLAlchemy's exception of
        its kind, as from `run_on_sqlite_driver`.

        `on_loop_thread`: on the event loop's own thread instead (a process that serves no requests, whose
        loop may wait), BEGIN IMMEDIATE waiting for another process's lock asynchronously: in a thread the
        write took the interpreter back after each of its SQLite calls from the loop, which was busy with
        the next page, and held the lock that another process's requests waited for five times longer.

        With a `bulk_writer` (a sync process), in the writer process instead: `work` must then pickle."""
        if not self.is_sqlite:
            raise RuntimeError("write_in_one_trip is for SQLite")
        if self.bulk_writer is not None:
            async with self._lock():
                try:
                    return await self.bulk_writer.write(work)
                except sqlite3.Error as error:
                    raise DBAPIError.instance(None, None, error, sqlite3.Error) from error
        if on_loop_thread and self.quick_write_engine is not None:
            async with self._quick_write_transaction() as inline:
                database = inline.connection.driver_connection
                assert isinstance(database, sqlite3.Connection)
                return _sqlalchemy_errors(work, database)
        async with self.write_engine.connect() as connection, self._lock():
            return await run_on_sqlite_driver(connection, functools.partial(in_write_transaction, work))

    async def _small_write_session(self) -> AsyncSession:
        """A session whose BEGIN IMMEDIATE has succeeded (see `_when_not_busy`)."""

        async def begin() -> AsyncSession:
            session = self._small_write_sessions()
            try:
                await session.connection()  # runs BEGIN IMMEDIATE
            except BaseException:
                await session.close()
                raise
            return session

        return await _when_not_busy(begin)

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            self._checkpointer = None
        for engine in (self.quick_engine, self.quick_write_engine):
            if engine is not None:
                engine.dispose()
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()
            await self.small_write_engine.dispose()
