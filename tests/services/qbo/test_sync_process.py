"""Services: the serving process's sync process carries out sync runs against the sandbox over real HTTP,
on a real SQLite file, while this process keeps its run scopes and cache listeners around each run."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.embedded_server import EmbeddedServer
from app.sync_process import SyncProcess, SyncProcessError
from domains.ap.models import Bill
from domains.core import foreground
from domains.core import repository as core
from domains.qbo.config import QboConfig
from domains.qbo.crypto import TokenCipher
from domains.qbo.models import SyncRun
from domains.qbo.sandbox import QboSandbox, SandboxConfig, create_sandbox_app
from domains.qbo.smart_sync import SmartSyncService, SyncOutcome
from domains.summaries.models import BusinessSummary
from tests.conftest import make_settings
from tests.support.qbo import WEBHOOK_VERIFIER, bank_account, bill, store_sandbox_tokens, vendor

pytestmark = pytest.mark.anyio

BILLS = 1500
COMPANY = {
    "Account": [bank_account("35")],
    "Vendor": [vendor("1", "Paper Co")],
    # Amounts differ: bills alike in vendor, amount and date are possible duplicates, each pair of them.
    "Bill": [bill(str(i), "1", f"{i}.00", "2026-10-01", "2026-10-31") for i in range(10, 10 + BILLS)],
}


def descendants(pid: int) -> set[int]:
    """Every living process below `pid` (the sync process's mapping process and its server)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
async def served(sqlite_database, tmp_path):
    """A business connected to a sandbox company served over TCP; this process's SmartSync, and a
    SyncProcess configured as `runway serve` configures its own."""
    sandbox = QboSandbox(SandboxConfig(database_url="sqlite+aiosqlite:///:memory:"))
    async with EmbeddedServer(create_sandbox_app(sandbox=sandbox)) as server:
        realm_id = await sandbox.create_company("Process Co", COMPANY)
        async with sqlite_database.write() as session:
            business_id = (await core.create_business(session, name="Process Co")).id
        settings = make_settings(tmp_path, sqlite_database.url)
        config = QboConfig.local_sandbox(server.url, settings.redirect_uri, WEBHOOK_VERIFIER)
        sync = SmartSyncService(sqlite_database, config, TokenCipher(settings.secret_key))
        await store_sandbox_tokens(sync, sandbox, business_id, realm_id)
        process = SyncProcess(settings, server.url)
        try:
            yield sync, process, sandbox, business_id, realm_id
        finally:
            await process.stop()
            await sync.aclose()


async def bills_stored(db, business_id: int) -> int:
    async with db.read() as session:
        counted = select(func.count()).select_from(Bill).where(Bill.business_id == business_id)
        return int(await session.scalar(counted) or 0)


async def test_a_run_is_carried_out_by_the_sync_process_and_this_process_refills_its_caches(
    served, sqlite_database
):
    sync, process, _sandbox, business_id, _realm = served
    here: list[tuple[str, int, str]] = []

    async def run_listener(business: int, outcome: SyncOutcome) -> None:
        here.append(("run", business, outcome.status))

    async def cache_listener(business: int, outcome: SyncOutcome) -> None:
        here.append(("cache", business, outcome.status))

    sync.add_run_listener(run_listener)
    sync.add_cache_listener(cache_listener)
    run_id = await sync.request_sync(business_id, full=True)

    outcomes = await sync.run_due(carried_out_by=process.execute)

    assert [(o.run_id, o.status, o.kind) for o in outcomes] == [(run_id, "succeeded", "full")]
    assert outcomes[0].rows_written >= BILLS
    assert await bills_stored(sqlite_database, business_id) == BILLS
    async with sqlite_database.read() as session:
        run = await session.get(SyncRun, run_id)
        summary = await session.get(BusinessSummary, business_id)
    assert run is not None
    assert run.status == "succeeded"
    assert run.lease_owner not in (None, sync.worker_id), "the sync process claimed the run, not this one"
    # The run listeners (the stored summary) ran where the run was carried out; here only the caches'.
    assert summary is not None, "the sync process refreshed the stored summary"
    assert here == [("cache", business_id, "succeeded")]
    assert process.pid is not None
    assert alive(process.pid)


def spawned_below(pid: int) -> list[int]:
    """The processes below `pid` started with `multiprocessing`'s spawn (not forked from its forkserver)."""
    return [p for p in descendants(pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


async def test_a_run_while_this_process_serves_stores_everything_and_its_writer_keeps_our_priority(
    served, sqlite_database
):
    """With requests being served next door, the sync process writes its pages in parts, which its writer
    process runs: niced, the sync process would hold the lock the requests wait for while it waits for a
    processor. (That the writer process runs the writes it is sent: tests/services/test_sqlite_writer.py.)"""
    sync, process, _sandbox, business_id, _realm = served
    serving = True

    async def serve_requests() -> None:
        while serving:
            async with foreground.serving():
                await asyncio.sleep(0.002)
            await asyncio.sleep(0.02)

    server = asyncio.create_task(serve_requests())
    try:
        run_id = await sync.request_sync(business_id, full=True)
        outcomes = await sync.run_due(carried_out_by=process.execute)
    finally:
        serving = False
        await server

    assert [(o.run_id, o.status) for o in outcomes] == [(run_id, "succeeded")]
    assert await bills_stored(sqlite_database, business_id) == BILLS
    assert process.pid is not None
    spawned = spawned_below(process.pid)
    assert len(spawned) == 1, "one writer process beside the sync process's mapping process"
    assert niceness(process.pid) == 19, "the sync process stands aside for requests"
    assert os.sched_getscheduler(process.pid) == os.SCHED_IDLE, "at once, in the idle scheduling class"
    assert niceness(spawned[0]) == niceness(os.getpid()), "its writes keep the serving process's priority"
    assert os.sched_getscheduler(spawned[0]) == os.sched_getscheduler(os.getpid())
    processors = sorted(os.sched_getaffinity(os.getpid()))
    if len(processors) > 1:
        assert os.sched_getaffinity(process.pid) == set(processors[1:]), "off the serving thread's processor"
    assert os.sched_getaffinity(spawned[0]) == set(processors), "its writer runs where requests do"


async def test_a_killed_sync_process_loses_no_run(served, sqlite_database):
    sync, process, sandbox, business_id, realm_id = served
    sandbox.set_faults(realm_id, query_latency_ms=400)  # long enough to be killed in the middle
    run_id = await sync.request_sync(business_id, full=True)
    process.start()
    first = process.pid
    assert first is not None

    async def kill_once_running() -> None:
        for _ in range(300):
            async with sqlite_database.read() as session:
                status = await session.scalar(select(SyncRun.status).where(SyncRun.id == run_id))
            if status == "running":
                await asyncio.sleep(0.3)
                os.kill(first, signal.SIGKILL)
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the run never started")

    killer = asyncio.create_task(kill_once_running())
    with pytest.raises(SyncProcessError):
        await sync.run_due(carried_out_by=process.execute)
    await killer
    async with sqlite_database.write() as session:
        run = await session.get(SyncRun, run_id)
        assert run is not None
        assert run.status == "running", "the dead process's run waits for its lease"
        # Its lease runs out (two minutes in life).
        await session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(lease_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    sandbox.set_faults(realm_id, query_latency_ms=0)

    outcomes = await sync.run_due(carried_out_by=process.execute)

    assert [(o.run_id, o.status) for o in outcomes] == [(run_id, "succeeded")]
    assert process.pid not in (None, first), "a new sync process took the run over"
    assert await bills_stored(sqlite_database, business_id) == BILLS


async def test_stopping_ends_the_sync_process_and_its_mapping_process(served):
    sync, process, _sandbox, business_id, _realm = served
    await sync.request_sync(business_id, full=True)
    await sync.run_due(carried_out_by=process.execute)
    pid = process.pid
    assert pid is not None
    below = descendants(pid)
    assert below, "the sync process started its mapping process"

    await process.stop()

    deadline = time.monotonic() + 10
    while any(alive(p) for p in {pid, *below}) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # other processes: nothing to await but time
    assert not alive(pid)
    assert not [p for p in below if alive(p)], "no process is left behind"


async def test_stopping_during_a_run_stops_the_run_and_leaves_nothing_behind(served, sqlite_database):
    sync, process, sandbox, business_id, realm_id = served
    sandbox.set_faults(realm_id, query_latency_ms=400)
    run_id = await sync.request_sync(business_id, full=True)
    worker = asyncio.create_task(sync.run_due(carried_out_by=process.execute))
    for _ in range(300):
        async with sqlite_database.read() as session:
            status = await session.scalar(select(SyncRun.status).where(SyncRun.id == run_id))
        if status == "running":
            break
        await asyncio.sleep(0.05)
    pid = process.pid
    assert pid is not None
    below = descendants(pid)

    worker.cancel()  # as the server's shutdown stops its worker, then its sync process
    with pytest.raises(asyncio.CancelledError):
        await worker
    started = time.monotonic()
    await process.stop()

    assert time.monotonic() - started < 4, "the run was stopped, not waited for or killed after a timeout"
    deadline = time.monotonic() + 10
    while any(alive(p) for p in {pid, *below}) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # other processes: nothing to await but time
    assert not [p for p in {pid, *below} if alive(p)], "no process is left behind"
    async with sqlite_database.read() as session:
        run = await session.get(SyncRun, run_id)
    assert run is not None
    assert run.status == "running", "the run waits for its lease, to be taken over"
