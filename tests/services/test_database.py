"""Service tests (domain core database): how SQLite reads and writes behave beside another writer, and
what a PostgreSQL pool does when the server drops its connections.

Runs on a real, migrated SQLite file. Another process's writer is stood in for by a plain `sqlite3`
connection holding the write lock, which is what another app instance or `runway worker` does.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from domains.core import repository as core
from domains.core.db import Database
from domains.core.models import AuditLog, Firm

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _path(url: str) -> str:
    return url.removeprefix("sqlite+aiosqlite:///")


@pytest.mark.parametrize("small", [False, True], ids=["write", "small write"])
async def test_reads_go_on_while_another_process_holds_the_write_lock(sqlite_url: str, small: bool) -> None:
    db = Database(sqlite_url)
    try:
        async with db.write() as session:
            await core.get_or_create_firm(session, "Before the lock")
        other = sqlite3.connect(_path(sqlite_url), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO firms (name, created_at) VALUES ('Not committed', '2026-11-27 00:00:00')")
        try:
            async with asyncio.timeout(2):  # a blocked read would wait for busy_timeout (10 s)
                async with db.read() as session:
                    names = list(await session.scalars(select(Firm.name).order_by(Firm.name)))
            assert names == ["Before the lock"], "a reader sees committed data only, and is not held up"

            # A write waits for the lock without holding up the event loop: a read still runs meanwhile.
            async def write() -> None:
                async with db.write(small=small) as session:
                    await core.get_or_create_firm(session, "After the lock")

            writing = asyncio.create_task(write())
            await asyncio.sleep(0.2)
            assert not writing.done(), "the write waits for the other process's lock"
            async with db.read() as session:
                assert await session.scalar(select(func.count()).select_from(Firm)) == 1
            other.execute("COMMIT")
            await asyncio.wait_for(writing, 5)
        finally:
            other.close()
        async with db.read() as session:
            names = list(await session.scalars(select(Firm.name).order_by(Firm.name)))
        assert names == ["After the lock", "Before the lock", "Not committed"]
    finally:
        await db.dispose()


@pytest.mark.parametrize("small", [False, True], ids=["write", "small write"])
async def test_a_failed_write_transaction_leaves_nothing_behind(database: Database, small: bool) -> None:
    async def half_done() -> None:
        async with database.write(small=small) as session:
            await core.get_or_create_firm(session, "Half done")
            await core.add_audit_entry(session, action="firm.create", note="half done")
            raise RuntimeError("the request failed after two statements")

    with pytest.raises(RuntimeError):
        await half_done()
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(Firm)) == 0
        assert await session.scalar(select(func.count()).select_from(AuditLog)) == 0
    async with database.write(small=small) as session:
        await core.add_audit_entry(session, action="firm.create", note="whole")
    async with database.read() as session:
        notes = list(await session.scalars(select(AuditLog.note)))
    assert notes == ["whole"]


async def test_quick_reads_and_writes_go_on_beside_another_writer_and_commit_whole(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        async with db.quick_read() as reader:  # the app has opened the file (in WAL mode) before
            assert await reader.scalar(select(func.count()).select_from(Firm)) == 0
        other = sqlite3.connect(_path(sqlite_url), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO firms (name, created_at) VALUES ('Not committed', '2026-11-27 00:00:00')")
        try:
            async with asyncio.timeout(2), db.quick_read() as reader:
                assert await reader.scalar(select(func.count()).select_from(Firm)) == 0

            async def audit(note: str) -> None:
                async with db.quick_write() as writer:
                    await core.add_audit_entry(writer, action="test.quick", note=note)

            # The quick write engine's first connection is opened under the other process's lock.
            writing = asyncio.create_task(audit("after the lock"))
            await asyncio.sleep(0.2)
            assert not writing.done(), "the write waits for the other process's lock, the loop does not"
            other.execute("COMMIT")
            await asyncio.wait_for(writing, 5)
        finally:
            other.close()

        async def half_done() -> None:
            async with db.quick_write() as writer:
                await core.add_audit_entry(writer, action="test.quick", note="half done")
                raise RuntimeError("the request failed after one statement")

        with pytest.raises(RuntimeError):
            await half_done()
        async with db.quick_read() as reader:
            notes = (await reader.execute(select(AuditLog.note).order_by(AuditLog.id))).scalars().all()
        assert notes == ["after the lock"], "a failed quick write leaves nothing behind"
    finally:
        await db.dispose()


async def test_a_serving_database_checkpoints_its_wal_in_the_background(sqlite_url: str) -> None:
    """The app's connections leave the WAL to a background round (SQLite would copy it back in whichever
    commit found it full), and the round copies everything written back into the database file."""
    from domains.core import db as db_module

    db = Database(sqlite_url, background_checkpoints=True)
    try:
        async with db.write() as session:
            for index in range(300):
                await core.get_or_create_firm(session, f"Firm {index:03}")
        async with db.read() as session:
            setting = (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
        assert setting == 0, "no commit of the app's checkpoints"
        for _ in range(40):
            if db.last_checkpoint is not None and db.last_checkpoint[1] > 0:
                break
            await asyncio.sleep(db_module._CHECKPOINT_SECONDS / 2)
        assert db.last_checkpoint is not None, "a background round ran"
        busy, wal_pages, copied = db.last_checkpoint
        assert busy == 0
        assert wal_pages > 0
        assert copied == wal_pages, "everything in the WAL is back in the database file"
    finally:
        await db.dispose()
    probe = sqlite3.connect(_path(sqlite_url))
    try:
        assert probe.execute("SELECT count(*) FROM firms WHERE name LIKE 'Firm %'").fetchone()[0] == 300
    finally:
        probe.close()
    other = Database(sqlite_url)
    try:
        async with other.read() as session:
            setting = (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
        assert setting == 1000, "other processes keep SQLite's own checkpoints"
    finally:
        await other.dispose()


@pytest.mark.parametrize("on_loop_thread", [False, True], ids=["driver thread", "loop thread"])
async def test_a_write_in_one_trip_commits_whole_or_leaves_nothing(
    sqlite_url: str, on_loop_thread: bool
) -> None:
    db = Database(sqlite_url)

    def insert(note: str, *, fail: bool = False) -> Callable[[sqlite3.Connection], int]:
        def work(connection: sqlite3.Connection) -> int:
            for part in ("first", "second"):
                connection.execute(
                    "INSERT INTO audit_log (action, note, created_at) VALUES ('test.trip', ?, '2026-11-28')",
                    (f"{note} {part}",),
                )
            if fail:
                raise RuntimeError("the work failed after two statements")
            return 2

        return work

    def firm_then_nameless_firm(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO firms (name, created_at) VALUES ('Named', '2026-11-28')")
        connection.execute("INSERT INTO firms (name, created_at) VALUES (NULL, '2026-11-28')")

    try:
        assert await db.write_in_one_trip(insert("whole"), on_loop_thread=on_loop_thread) == 2
        with pytest.raises(RuntimeError):
            await db.write_in_one_trip(insert("half done", fail=True), on_loop_thread=on_loop_thread)
        with pytest.raises(IntegrityError):  # SQLite's error as SQLAlchemy's, as from any other write
            await db.write_in_one_trip(firm_then_nameless_firm, on_loop_thread=on_loop_thread)
        async with db.write() as session:  # the lock and the connection are free again
            await core.add_audit_entry(session, action="test.trip", note="after")
        async with db.read() as session:
            notes = list(await session.scalars(select(AuditLog.note).order_by(AuditLog.id)))
            assert await session.scalar(select(func.count()).select_from(Firm)) == 0
        assert notes == ["whole first", "whole second", "after"]
    finally:
        await db.dispose()


async def test_a_write_on_the_loop_thread_waits_for_another_process_lock_without_holding_the_loop(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    other = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    def note(connection: sqlite3.Connection) -> None:
        connection.execute(
            "INSERT INTO audit_log (action, note, created_at) VALUES ('test.trip', 'waited', '2026-11-28')"
        )

    ticker = asyncio.create_task(tick())
    try:
        other.execute("BEGIN IMMEDIATE")  # another process's write in progress
        write = asyncio.create_task(db.write_in_one_trip(note, on_loop_thread=True))
        await asyncio.sleep(0.1)
        assert not write.done(), "the write waits for the lock"
        assert ticks > 20, "the event loop went on meanwhile"
        other.execute("COMMIT")
        await asyncio.wait_for(write, timeout=5)
        async with db.read() as session:
            noted = select(AuditLog.note).where(AuditLog.action == "test.trip")
            assert await session.scalar(noted) == "waited"
    finally:
        ticker.cancel()
        other.close()
        await db.dispose()


@pytest.mark.postgres
async def test_on_postgresql_pooled_connections_the_server_dropped_are_replaced(pg_url: str) -> None:
    """The server restarted, or closed idle connections: a request after that still gets its answer,
    from reads and from writes, although the pool held connections that are gone."""
    db = Database(pg_url)
    try:
        async with db.write() as session:
            await core.get_or_create_firm(session, "Before the drop")
        async with db.quick_read() as reader, db.read() as session:  # two connections in the pool
            await reader.execute(select(func.count()).select_from(Firm))
            await session.scalar(select(func.count()).select_from(Firm))
        dropped = Database(pg_url)
        try:
            async with dropped.write() as session:
                ended = await session.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
        finally:
            await dropped.dispose()
        assert (ended or 0) >= 2, "the two pooled connections were ended"
        await asyncio.sleep(1.2)  # idle in the pool long enough to be checked before use

        async with db.quick_read() as reader:
            assert (await reader.execute(select(func.count()).select_from(Firm))).scalar() == 1
        async with db.write() as session:
            await core.get_or_create_firm(session, "After the drop")
        async with db.read() as session:
            assert await session.scalar(select(func.count()).select_from(Firm)) == 2
    finally:
        await db.dispose()
