"""Services: the writer process runs a niced process's bulk writes on a real SQLite file, whole or not at
all, after the serving process's requests in progress, and a sync's prepared rows reach it intact."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import multiprocessing
import os
import signal
import sqlite3
import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domains.ap.models import Bill, BillLine
from domains.core import repository as core
from domains.core.db import Database
from domains.core.models import AuditLog, Firm
from domains.core.sqlite_writer import SqliteWriterProcess, WriterProcessError
from domains.qbo.client import encode_body, split_query_page
from domains.qbo.page_mapping import map_page_in_turns
from domains.synced import ready_to_restore, upsert_alone_on_sqlite
from tests.support.qbo import bill

pytestmark = pytest.mark.anyio


# What the writer process is sent must pickle: module-level functions, their arguments bound.
def note(text: str, connection: sqlite3.Connection) -> int:
    connection.execute(
        "INSERT INTO audit_log (action, note, created_at) VALUES ('test.writer', ?, '2026-11-28')", (text,)
    )
    return os.getpid()


def note_then_fail(text: str, connection: sqlite3.Connection) -> None:
    note(text, connection)
    raise RuntimeError("the work failed after its first statement")


def firm_then_nameless_firm(connection: sqlite3.Connection) -> None:
    connection.execute("INSERT INTO firms (name, created_at) VALUES ('Named', '2026-11-28')")
    connection.execute("INSERT INTO firms (name, created_at) VALUES (NULL, '2026-11-28')")


def path_of(url: str) -> str:
    return url.split("///", 1)[1]


async def notes(db: Database) -> list[str]:
    async with db.read() as session:
        return list(await session.scalars(select(AuditLog.note).order_by(AuditLog.id)))


@contextlib.asynccontextmanager
async def beside_a_busy_server(sqlite_url: str, *, max_wait_seconds: float):
    """A database writing through a writer process next to a serving process with a request in progress
    (its shared state, which the test changes)."""
    db = Database(sqlite_url)
    serving = multiprocessing.get_context("spawn").RawArray("d", 2)
    serving[0] = 1
    db.bulk_writer = writer = SqliteWriterProcess(
        path_of(sqlite_url), serving, max_wait_seconds=max_wait_seconds
    )
    try:
        writer.start()
        yield db, writer, serving
    finally:
        writer.stop()
        await db.dispose()


@pytest.fixture
async def written_elsewhere(sqlite_url: str):
    """A database whose `write_in_one_trip` goes to a writer process, as in a sync process."""
    db = Database(sqlite_url)
    writer = SqliteWriterProcess(
        path_of(sqlite_url), None, warm_up=functools.partial(ready_to_restore, "sqlite+aiosqlite")
    )
    writer.start()
    db.bulk_writer = writer
    try:
        yield db, writer
    finally:
        writer.stop()
        await db.dispose()


async def test_a_write_runs_in_the_writer_process_whole_or_not_at_all(written_elsewhere) -> None:
    db, writer = written_elsewhere

    pid = await db.write_in_one_trip(functools.partial(note, "whole"))
    with pytest.raises(TypeError, match="pickle"):  # what cannot be sent fails here; the writer goes on
        await db.write_in_one_trip(functools.partial(note, threading.Lock()))
    with pytest.raises(WriterProcessError, match="failed after its first statement"):
        await db.write_in_one_trip(functools.partial(note_then_fail, "half done"))
    with pytest.raises(IntegrityError):  # SQLite's error as SQLAlchemy's, as from any other write
        await db.write_in_one_trip(firm_then_nameless_firm)
    async with db.write() as session:  # this process's writes go on meanwhile
        await core.add_audit_entry(session, action="test.writer", note="here")

    assert pid == writer.pid != os.getpid()
    assert await db.write_in_one_trip(functools.partial(note, "same writer")) == pid
    assert await notes(db) == ["whole", "here", "same writer"]
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Firm)) == 0


async def test_the_writer_waits_for_the_serving_process_requests_in_progress(sqlite_url: str) -> None:
    async with beside_a_busy_server(sqlite_url, max_wait_seconds=30) as (db, _writer, serving):
        write = asyncio.create_task(db.write_in_one_trip(functools.partial(note, "after the request")))
        await asyncio.sleep(1.0)
        assert not write.done(), "the write waits while a request is in progress"
        assert await notes(db) == []
        serving[0] = 0
        await asyncio.wait_for(write, timeout=10)
        assert await notes(db) == ["after the request"]


async def test_a_write_cancelled_under_way_is_not_mistaken_for_the_next(sqlite_url: str) -> None:
    async with beside_a_busy_server(sqlite_url, max_wait_seconds=30) as (db, writer, serving):
        first = writer.pid
        cancelled = asyncio.create_task(db.write_in_one_trip(functools.partial(note, "cancelled")))
        await asyncio.sleep(0.5)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        serving[0] = 0

        pid = await asyncio.wait_for(db.write_in_one_trip(functools.partial(note, "next")), timeout=30)

        assert pid == writer.pid != first, "the next write had a writer of its own"
        assert await notes(db) == ["next"]


async def test_a_write_waits_for_requests_no_longer_than_its_longest_wait(sqlite_url: str) -> None:
    async with beside_a_busy_server(sqlite_url, max_wait_seconds=0.2) as (db, _writer, _serving):
        # The request never ends: the write goes ahead after its longest wait.
        await asyncio.wait_for(db.write_in_one_trip(functools.partial(note, "anyway")), timeout=30)
        assert await notes(db) == ["anyway"]


async def test_a_sync_part_reaches_the_writer_process_intact(written_elsewhere) -> None:
    db, _writer = written_elsewhere
    async with db.write() as session:
        business_id = (await core.create_business(session, name="Parts Co")).id
    meta = {"CreateTime": "2026-09-01T10:00:00-07:00", "LastUpdatedTime": "2026-09-02T10:00:00-07:00"}
    objects = [
        bill(str(i), "1", f"{i}.25", "2026-09-01", "2026-10-01", SyncToken="0", MetaData=meta)
        for i in range(1, 41)
    ]
    body = encode_body({"QueryResponse": {"Bill": objects, "startPosition": 1, "maxResults": len(objects)}})
    items = split_query_page(body, "Bill")
    assert items is not None
    page = await map_page_in_turns("Bill", items, "USD", db.write_engine.dialect)
    assert len(page.prepared) == 40
    synced_at = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)

    stored = await upsert_alone_on_sqlite(db, business_id, page.prepared, synced_at=synced_at)

    assert sorted(stored, key=int) == [str(i) for i in range(1, 41)]
    async with db.read() as session:
        bills = (await session.scalars(select(Bill).where(Bill.business_id == business_id))).all()
        lines = await session.scalar(select(func.count()).select_from(BillLine))
    assert {b.qbo_id: b.total_cents for b in bills} == {str(i): i * 100 + 25 for i in range(1, 41)}
    assert {b.synced_at for b in bills} == {synced_at}
    assert lines == 40


async def test_a_writer_that_died_is_started_again_for_the_next_write(written_elsewhere) -> None:
    db, writer = written_elsewhere
    first = await db.write_in_one_trip(functools.partial(note, "first"))
    os.kill(first, signal.SIGKILL)
    await asyncio.to_thread(_wait_until_gone, first)

    second = await db.write_in_one_trip(functools.partial(note, "second"))

    assert second != first
    assert await notes(db) == ["first", "second"]
    writer.stop()
    assert writer.pid is None
    await asyncio.to_thread(_wait_until_gone, second)


def _wait_until_gone(pid: int) -> None:
    for _ in range(500):
        if not _alive(pid):
            return
        import time

        time.sleep(0.01)
    raise AssertionError(f"process {pid} is still there")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state: Any = stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
