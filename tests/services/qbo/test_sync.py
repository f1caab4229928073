"""Services: SmartSync pulls a sandbox company into the database — full pages, CDC, deletes, resume."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from decimal import Decimal

import pytest
from sqlalchemy import func, make_url, select, update
from sqlalchemy.orm import selectinload

from domains.ap.models import Bill, BillLine, Vendor
from domains.bank.models import Account
from domains.core import foreground
from domains.core.sqlite_writer import SqliteWriterProcess
from domains.qbo import repository as repo
from domains.qbo.models import SyncCursor, SyncRun
from domains.qbo.page_mapping import start_mapping_process
from domains.qbo.smart_sync import (
    CDC_OVERLAP,
    SQLITE_STAMP_PART,
    SQLITE_WRITE_PART,
    _stale_candidates,
    _sweep_statements,
)
from domains.synced import ready_to_restore
from tests.support.qbo import bank_account, bill, vendor

pytestmark = pytest.mark.anyio


async def _count(db, model, business_id) -> int:
    async with db.read() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(model).where(model.business_id == business_id)
            )
        )


async def test_a_full_sync_lands_every_entity_once(qbo):
    business_id, _realm = await qbo.connected_business(
        entities={
            "Account": [bank_account()],
            "Vendor": [vendor("1", "Paper Co"), vendor("2", "Old Supplier", Active=False)],
            "Bill": [
                bill("10", "1", "120.50", "2026-10-01", "2026-10-31"),
                bill("11", "1", "80.00", "2026-10-05"),
            ],
        }
    )
    sync = qbo.smart_sync()
    outcome = await sync.sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error
    assert await _count(qbo.db, Vendor, business_id) == 2, "inactive vendors are synced too"
    assert await _count(qbo.db, Bill, business_id) == 2
    async with qbo.db.read() as session:
        paper = await session.scalar(select(Bill).where(Bill.business_id == business_id, Bill.qbo_id == "10"))
        assert paper.balance_cents == 12050
        assert paper.due_date.isoformat() == "2026-10-31"
        account = await session.scalar(select(Account).where(Account.business_id == business_id))
        assert account.current_balance_cents == 1_000_000
        run = await session.get(SyncRun, outcome.run_id)
        assert run.status == "succeeded"
        assert run.entities_done == run.entities_total == 13
    again = await sync.sync_now(business_id, full=True)
    assert again.status == "succeeded"
    assert await _count(qbo.db, Bill, business_id) == 2, "a second sync duplicates nothing"


async def test_paging_stops_after_an_exact_multiple_of_1000(qbo_sqlite):
    qbo = qbo_sqlite
    bills = [bill(str(i), "1", "10.00", "2026-09-01", "2026-10-01") for i in range(1, 1001)]
    business_id, _ = await qbo.connected_business(
        entities={"Vendor": [vendor("1", "Bulk Co")], "Bill": bills}
    )
    outcome = await qbo.smart_sync().sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error
    assert await _count(qbo.db, Bill, business_id) == 1000
    pages = qbo.traffic.queries("Bill")
    assert len(pages) == 2
    assert "STARTPOSITION 1 " in pages[0]
    assert "STARTPOSITION 1001 " in pages[1]


async def test_a_full_sync_asks_for_no_page_past_the_end_of_an_entity(qbo_sqlite):
    qbo = qbo_sqlite
    business_id = await _bulk_co(qbo)
    outcome = await qbo.smart_sync().sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error
    assert await _count(qbo.db, Bill, business_id) == 2500
    pages = qbo.traffic.queries("Bill")
    assert [p.split("STARTPOSITION ")[1].split()[0] for p in pages] == ["1", "1001", "2001"]
    assert len(qbo.traffic.queries("Vendor")) == 1, "every request spends the company's rate limit"


async def _stored_bills(db, business_id) -> list[tuple]:
    async with db.read() as session:
        bills = await session.scalars(
            select(Bill).where(Bill.business_id == business_id).options(selectinload(Bill.lines))
        )
        return sorted(
            (
                b.qbo_id,
                b.sync_token,
                b.total_cents,
                b.balance_cents,
                b.due_date,
                b.vendor_name,
                b.raw,
                [(line.position, line.amount_cents, line.description, line.account_name) for line in b.lines],
            )
            for b in bills
        )


async def test_the_mapping_process_stores_what_mapping_here_stores(qbo):
    """A long-lived syncing process maps big pages in its mapping process: the rows, lines, raw JSON and
    quarantine are exactly those of a sync that maps them itself."""
    bills = [
        bill(str(i), "1", f"{i}.10", "2026-09-01", "2026-10-01", PrivateNote=f"Façade n° {i} — «ok» 💸")
        for i in range(1, 1401)
    ]
    bills[5]["TxnDate"] = "not-a-date"
    bills[6]["Line"].append(
        {
            "Id": "2",
            "Amount": "2.50",
            "DetailType": "AccountBasedExpenseLineDetail",
            "Description": "Zweite Zeile",
            "AccountBasedExpenseLineDetail": {},
        }
    )
    entities = {"Vendor": [vendor("1", "Bülk & Co")], "Bill": bills}
    here, _ = await qbo.connected_business("Mapped Here", entities=entities)
    there, _ = await qbo.connected_business("Mapped There", entities=entities)
    await asyncio.to_thread(start_mapping_process)

    outcomes = [
        await qbo.smart_sync().sync_now(here, full=True),
        await qbo.smart_sync(map_in_process=True).sync_now(there, full=True),
    ]

    assert [o.status for o in outcomes] == ["succeeded", "succeeded"], [o.error for o in outcomes]
    assert [o.quarantined for o in outcomes] == [1, 1]
    stored = await _stored_bills(qbo.db, there)
    assert len(stored) == 1399
    assert stored == await _stored_bills(qbo.db, here)
    async with qbo.db.read() as session:
        assert [q.qbo_id for q in await repo.list_quarantine(session, there)] == ["6"]


async def test_an_empty_company_syncs_to_nothing(qbo):
    business_id, _ = await qbo.connected_business(name="Brand New LLC")
    outcome = await qbo.smart_sync().sync_now(business_id)
    assert outcome.status == "succeeded", outcome.error
    assert await _count(qbo.db, Bill, business_id) == 0
    async with qbo.db.read() as session:
        assert set(await repo.get_cursors(session, business_id)) >= {"Bill", "Invoice", "Vendor"}


async def test_incremental_sync_applies_changes_and_deletes_through_cdc(qbo):
    business_id, realm_id = await qbo.connected_business(
        entities={
            "Vendor": [vendor("1", "Paper Co")],
            "Bill": [
                bill("10", "1", "100.00", "2026-10-01", "2026-10-31"),
                bill("11", "1", "50.00", "2026-10-02"),
            ],
        }
    )
    sync = qbo.smart_sync()
    await sync.sync_now(business_id)
    qbo.clock.advance(600)
    current = (await qbo.qbo(realm_id, "SELECT * FROM Bill WHERE Id = '10'"))["Bill"][0]
    await qbo.qbo_write(
        realm_id,
        "Bill",
        {"Id": "10", "SyncToken": current["SyncToken"], "sparse": True, "DueDate": "2026-11-15"},
    )
    other = (await qbo.qbo(realm_id, "SELECT * FROM Bill WHERE Id = '11'"))["Bill"][0]
    await qbo.qbo_write(realm_id, "Bill", {"Id": "11", "SyncToken": other["SyncToken"]}, operation="delete")
    await qbo.qbo_write(realm_id, "Vendor", {"DisplayName": "Ink Ltd"})
    qbo.clock.advance(60)
    outcome = await sync.sync_now(business_id)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.kind == "incremental"
    assert any(r.url.path.endswith("/cdc") for r in qbo.traffic.requests)
    async with qbo.db.read() as session:
        bills = {
            b.qbo_id: b for b in await session.scalars(select(Bill).where(Bill.business_id == business_id))
        }
        vendors = {
            v.display_name
            for v in await session.scalars(select(Vendor).where(Vendor.business_id == business_id))
        }
    assert set(bills) == {"10"}, "the deleted bill is gone"
    assert bills["10"].due_date.isoformat() == "2026-11-15"
    assert vendors == {"Paper Co", "Ink Ltd"}


async def test_a_stale_cursor_falls_back_to_a_full_sync(qbo):
    business_id, _ = await qbo.connected_business(entities={"Vendor": [vendor("1", "Paper Co")]})
    sync = qbo.smart_sync()
    await sync.sync_now(business_id)
    qbo.clock.advance(31 * 24 * 3600)
    outcome = await sync.sync_now(business_id)
    assert outcome.status == "succeeded"
    assert outcome.kind == "full"


async def test_a_full_sync_removes_rows_deleted_in_qbo_while_we_were_away(qbo):
    business_id, realm_id = await qbo.connected_business(
        entities={"Vendor": [vendor("1", "Paper Co")], "Bill": [bill("10", "1", "1.00", "2026-10-01")]}
    )
    sync = qbo.smart_sync()
    await sync.sync_now(business_id)
    current = (await qbo.qbo(realm_id, "SELECT * FROM Bill"))["Bill"][0]
    await qbo.qbo_write(realm_id, "Bill", {"Id": "10", "SyncToken": current["SyncToken"]}, operation="delete")
    qbo.clock.advance(5)
    await sync.sync_now(business_id, full=True)
    assert await _count(qbo.db, Bill, business_id) == 0


async def test_the_sweep_deletes_only_rows_still_untouched_when_it_writes(qbo):
    """The sweep's candidates are read before the write lock is taken; a row written in between (a later
    page, a write-back) is no longer stale and stays."""
    business_id, _realm = await qbo.connected_business(
        entities={"Vendor": [vendor("1", "Paper Co"), vendor("2", "Gone Co"), vendor("3", "Ink Co")]}
    )
    await qbo.smart_sync().sync_now(business_id)
    started_at = qbo.clock.now() + dt.timedelta(seconds=1)
    candidates = await _stale_candidates(qbo.db, business_id, Vendor, started_at)
    assert sorted(candidates) == ["1", "2", "3"]
    async with qbo.db.write() as session:
        await session.execute(
            update(Vendor)
            .where(Vendor.business_id == business_id, Vendor.qbo_id.in_(["1", "3"]))
            .values(synced_at=started_at)
        )
    async with qbo.db.write() as session:
        for statement in _sweep_statements(business_id, Vendor, started_at, candidates):
            await session.execute(statement)
    async with qbo.db.read() as session:
        left = await session.scalars(select(Vendor.qbo_id).where(Vendor.business_id == business_id))
        assert sorted(left) == ["1", "3"]


async def test_a_killed_sync_resumes_from_the_last_committed_page(qbo_sqlite):
    qbo = qbo_sqlite
    business_id = await _bulk_co(qbo)

    class Killed(BaseException):
        """Stands in for the process dying: nothing below it gets to clean up."""

    async def die_after_first_bill_page(entity: str, done: int, total: int) -> None:
        if entity == "Bill":
            raise Killed

    first = qbo.smart_sync(worker_id="worker-a")
    run_id = await first.request_sync(business_id, full=True)
    with pytest.raises(Killed):
        await first.execute(run_id, on_progress=die_after_first_bill_page)
    assert await _count(qbo.db, Bill, business_id) == 1000
    async with qbo.db.read() as session:
        run = await session.get(SyncRun, run_id)
        assert run.status == "running"
        assert run.progress["entities"]["Bill"]["next_position"] == 1001

    second = qbo.smart_sync(worker_id="worker-b")
    assert await second.run_due() == [], "the dead worker's lease has not expired yet"
    qbo.clock.advance(600)
    outcomes = await second.run_due()
    assert [o.status for o in outcomes] == ["succeeded"]
    assert outcomes[0].run_id == run_id
    assert await _count(qbo.db, Bill, business_id) == 2500
    bill_pages = qbo.traffic.queries("Bill")
    assert "STARTPOSITION 1 " in bill_pages[0]
    assert all("STARTPOSITION 1 " not in page for page in bill_pages[1:]), "never restarts from zero"
    async with qbo.db.read() as session:
        run = await session.get(SyncRun, run_id)
        assert run.status == "succeeded"
        assert run.attempt == 2


async def test_a_sync_killed_between_the_parts_of_a_page_writes_that_page_again(qbo_sqlite, monkeypatch):
    """On SQLite, while requests are being served, a page commits in parts (short holds of the write lock);
    its position only with the last, so a sync stopped after some parts resumes at that page and ends with
    each bill once."""
    qbo = qbo_sqlite
    business_id = await _bulk_co(qbo)

    class Killed(BaseException):
        """Stands in for the process dying: nothing below it gets to clean up."""

    armed = False

    async def arm_after_first_bill_page(entity: str, done: int, total: int) -> None:
        nonlocal armed
        armed = armed or entity == "Bill"

    commit_part = qbo.db.write_in_one_trip

    async def die_after_a_part(work, **how):
        written = await commit_part(work, **how)  # committed: the process dies right after
        if armed:
            raise Killed
        return written

    first = qbo.smart_sync(worker_id="worker-a")
    run_id = await first.request_sync(business_id, full=True)
    monkeypatch.setattr(qbo.db, "write_in_one_trip", die_after_a_part)
    with pytest.raises(Killed):
        async with foreground.serving():  # as in `runway serve` with a request in progress
            await first.execute(run_id, on_progress=arm_after_first_bill_page)
    monkeypatch.undo()
    assert await _count(qbo.db, Bill, business_id) == 1000 + SQLITE_WRITE_PART, "one part of page two"
    async with qbo.db.read() as session:
        run = await session.get(SyncRun, run_id)
        assert run.progress["entities"]["Bill"]["next_position"] == 1001

    qbo.clock.advance(600)
    outcomes = await qbo.smart_sync(worker_id="worker-b").run_due()
    assert [o.status for o in outcomes] == ["succeeded"]
    assert await _count(qbo.db, Bill, business_id) == 2500
    async with qbo.db.read() as session:
        distinct = await session.scalar(
            select(func.count(func.distinct(Bill.qbo_id))).where(Bill.business_id == business_id)
        )
    assert distinct == 2500
    bill_pages = qbo.traffic.queries("Bill")
    assert sum("STARTPOSITION 1 " in page for page in bill_pages) == 1, "never restarts from zero"
    assert sum("STARTPOSITION 1001 " in page for page in bill_pages) == 2, "the page it was writing, again"


async def _bulk_co(qbo) -> int:
    """A connected business whose sandbox company has 2,500 bills: three pages, two of them full."""
    bills = [bill(str(i), "1", "10.00", "2026-09-01", "2026-10-01") for i in range(1, 2501)]
    entities = {"Vendor": [vendor("1", "Bulk Co")], "Bill": bills}
    business_id, _ = await qbo.connected_business(entities=entities)
    return business_id


@pytest.fixture
async def written_by_a_writer_process(qbo_sqlite):
    """`qbo_sqlite` whose database sends `write_in_one_trip` to a writer process, as a sync process's does;
    and what was sent there, by function name."""
    qbo = qbo_sqlite
    writer = SqliteWriterProcess(
        make_url(qbo.db.url).database, None, warm_up=functools.partial(ready_to_restore, "sqlite+aiosqlite")
    )
    sent: list[str] = []
    real_write = writer.write

    async def write(work):
        sent.append(work.func.__name__)
        return await real_write(work)

    writer.write = write  # what it is sent, noted; every write still runs there
    qbo.db.bulk_writer = writer
    try:
        yield qbo, sent
    finally:
        qbo.db.bulk_writer = None
        writer.stop()


async def test_with_a_writer_process_a_page_and_its_checkpoint_are_written_there(written_by_a_writer_process):
    qbo, sent = written_by_a_writer_process
    business_id = await _bulk_co(qbo)
    sync = qbo.smart_sync()
    run_id = await sync.request_sync(business_id, full=True)

    async with foreground.serving():  # as in `runway serve` with a request in progress
        outcome = await sync.execute(run_id)

    assert outcome.status == "succeeded"
    assert await _count(qbo.db, Bill, business_id) == 2500
    async with qbo.db.read() as session:
        run = await session.get(SyncRun, run_id)
    assert run.progress["entities"]["Bill"] == {"next_position": 2501, "fetched": 2500, "done": True}
    assert run.rows_written >= 2500
    # Every page's checkpoint went there: the bills' three, and the one page of each of the other twelve
    # entities (the vendor's, and eleven empty ones).
    assert sent.count("run_bound") == 3 + 12
    parts = 2 * -(-1000 // SQLITE_WRITE_PART) + -(-500 // SQLITE_WRITE_PART)  # pages of 1,000, 1,000, 500
    assert sent.count("_upsert_on_sqlite_driver") == parts + 1  # and the vendor's page


async def test_with_a_writer_process_the_last_page_sweeps_and_sets_the_cursor_there(
    written_by_a_writer_process,
):
    qbo, sent = written_by_a_writer_process
    business_id, realm_id = await qbo.connected_business(
        entities={
            "Vendor": [vendor("1", "Paper Co")],
            "Bill": [bill("10", "1", "1.00", "2026-10-01"), bill("11", "1", "2.00", "2026-10-02")],
        }
    )
    sync = qbo.smart_sync()
    await sync.sync_now(business_id)
    current = (await qbo.qbo(realm_id, "SELECT * FROM Bill WHERE Id = '10'"))["Bill"][0]
    await qbo.qbo_write(realm_id, "Bill", {"Id": "10", "SyncToken": current["SyncToken"]}, operation="delete")
    qbo.clock.advance(5)
    before = await _bill_cursor(qbo.db, business_id)
    starting = qbo.clock.now()
    sent.clear()

    async with foreground.serving():
        outcome = await sync.sync_now(business_id, full=True)

    assert outcome.status == "succeeded", outcome.error
    assert "run_bound" in sent
    async with qbo.db.read() as session:
        left = await session.scalars(select(Bill.qbo_id).where(Bill.business_id == business_id))
        assert list(left) == ["11"], "the bill deleted in QBO while we were away is gone, with its lines"
        lines = await session.scalar(select(func.count()).select_from(BillLine))
    assert lines == 1
    after = await _bill_cursor(qbo.db, business_id)
    assert after > before
    assert after >= starting - CDC_OVERLAP, "incremental syncs go on from this sync's start"


async def test_with_a_writer_process_a_sync_of_unchanged_books_only_stamps_them(written_by_a_writer_process):
    """Beside requests, rows stored as delivered are found by a read and only stamped, in short writes; the
    one bill changed in QBO since is written, and the sweep keeps every bill."""
    qbo, sent = written_by_a_writer_process
    bills = [bill(str(i), "1", "10.00", "2026-09-01", "2026-10-01") for i in range(1, 1201)]
    business_id, realm_id = await qbo.connected_business(
        entities={"Vendor": [vendor("1", "Bulk Co")], "Bill": bills}
    )
    sync = qbo.smart_sync()
    await sync.sync_now(business_id)
    current = (await qbo.qbo(realm_id, "SELECT * FROM Bill WHERE Id = '7'"))["Bill"][0]
    await qbo.qbo_write(
        realm_id,
        "Bill",
        {"Id": "7", "SyncToken": current["SyncToken"], "sparse": True, "DueDate": "2026-11-15"},
    )
    qbo.clock.advance(5)
    starting = qbo.clock.now()
    sent.clear()

    async with foreground.serving():
        outcome = await sync.sync_now(business_id, full=True)

    assert outcome.status == "succeeded", outcome.error
    assert sent.count("_upsert_on_sqlite_driver") == 1, "the changed bill's part, and no other"
    # The vendor, then 999 and 200 bills, SQLITE_STAMP_PART at a time.
    stamps = 1 + -(-999 // SQLITE_STAMP_PART) + -(-200 // SQLITE_STAMP_PART)
    assert sent.count("_execute_all") == stamps
    async with qbo.db.read() as session:
        stored = {
            b.qbo_id: b for b in await session.scalars(select(Bill).where(Bill.business_id == business_id))
        }
    assert len(stored) == 1200, "the sweep kept every bill it stamped"
    assert all(b.synced_at >= starting for b in stored.values())
    assert stored["7"].due_date == dt.date(2026, 11, 15)
    async with qbo.db.read() as session:
        run = await session.scalar(select(SyncRun).order_by(SyncRun.id.desc()).limit(1))
    assert run.rows_written == 1201, "stamped rows count as written, as before"


async def _bill_cursor(db, business_id: int) -> dt.datetime:
    async with db.read() as session:
        return await session.scalar(
            select(SyncCursor.changed_since).where(
                SyncCursor.business_id == business_id, SyncCursor.entity == "Bill"
            )
        )


async def test_a_lease_lost_is_seen_by_a_checkpoint_in_the_writer_process(written_by_a_writer_process):
    qbo, sent = written_by_a_writer_process
    business_id = await _bulk_co(qbo)
    sync = qbo.smart_sync(worker_id="worker-a")
    run_id = await sync.request_sync(business_id, full=True)

    async def lose_the_lease_on_the_first_bill_page(entity: str, done: int, total: int) -> None:
        if entity == "Bill":
            async with qbo.db.write() as session:
                stolen = update(SyncRun).where(SyncRun.id == run_id).values(lease_owner="worker-b")
                await session.execute(stolen)

    async with foreground.serving():
        outcome = await sync.execute(run_id, on_progress=lose_the_lease_on_the_first_bill_page)

    assert outcome.status == "skipped", "the run stopped: another worker holds it"
    assert "run_bound" in sent
    async with qbo.db.read() as session:
        run = await session.get(SyncRun, run_id)
    assert run.lease_owner == "worker-b"
    # The first page's position, recorded before the lease went; none over another worker's lease.
    assert run.progress["entities"]["Bill"]["next_position"] == 1001
    # It stopped at the second page, whose checkpoint found the lease gone, not at the third.
    assert await _count(qbo.db, Bill, business_id) == 2000


async def test_one_business_never_has_two_active_runs(qbo):
    business_id, _ = await qbo.connected_business()
    sync = qbo.smart_sync()
    first = await sync.request_sync(business_id, trigger="webhook")
    second = await sync.request_sync(business_id, trigger="webhook")
    third = await sync.request_sync(business_id, full=True, trigger="manual")
    assert first == second == third
    async with qbo.db.read() as session:
        assert (await session.get(SyncRun, first)).kind == "full"


async def test_a_malformed_entity_is_quarantined_and_the_page_still_lands(qbo):
    bad = bill("11", "1", "50.00", "2026-10-02", "2026-10-30")
    bad["TxnDate"] = "not-a-date"
    business_id, _ = await qbo.connected_business(
        entities={"Vendor": [vendor("1", "Paper Co")], "Bill": [bill("10", "1", "100.00", "2026-10-01"), bad]}
    )
    outcome = await qbo.smart_sync().sync_now(business_id)
    assert outcome.status == "succeeded"
    assert outcome.quarantined == 1
    async with qbo.db.read() as session:
        quarantined = await repo.list_quarantine(session, business_id)
        assert [(q.entity, q.qbo_id) for q in quarantined] == [("Bill", "11")]
        assert "TxnDate" in quarantined[0].reason
        assert await session.scalar(select(Bill.total_cents).where(Bill.business_id == business_id)) == 10000


async def test_a_quarantined_entity_is_released_once_it_maps(qbo):
    bad = bill("11", "1", "50.00", "2026-10-02", "2026-10-30")
    bad["TxnDate"] = "not-a-date"
    business_id, realm_id = await qbo.connected_business(
        entities={"Vendor": [vendor("1", "Paper Co")], "Bill": [bill("10", "1", "100.00", "2026-10-01"), bad]}
    )
    assert (await qbo.smart_sync().sync_now(business_id)).quarantined == 1
    await qbo.qbo_write(
        realm_id, "Bill", {"Id": "11", "SyncToken": "0", "sparse": True, "TxnDate": "2026-10-02"}
    )
    outcome = await qbo.smart_sync().sync_now(business_id, full=True)
    assert (outcome.status, outcome.quarantined) == ("succeeded", 0)
    async with qbo.db.read() as session:
        assert await repo.list_quarantine(session, business_id) == []
        stored = await session.scalars(select(Bill.qbo_id).where(Bill.business_id == business_id))
        assert sorted(stored) == ["10", "11"]


async def test_home_currency_comes_from_preferences(qbo):
    business_id, _ = await qbo.connected_business()
    await qbo.smart_sync().sync_now(business_id)
    from domains.core.models import Business

    async with qbo.db.read() as session:
        assert (await session.get(Business, business_id)).home_currency == "USD"
    assert Decimal("1") == 1


async def test_a_row_newer_than_qbo_sends_survives_a_full_sync(qbo):
    business_id, _ = await qbo.connected_business(
        entities={"Vendor": [vendor("1", "Paper Co")], "Bill": [bill("10", "1", "100.00", "2026-10-01")]}
    )
    sync = qbo.smart_sync()
    assert (await sync.sync_now(business_id, full=True)).status == "succeeded"
    async with qbo.db.write() as session:
        await session.execute(
            update(Bill).where(Bill.business_id == business_id, Bill.qbo_id == "10").values(sync_token="99")
        )
    qbo.clock.advance(5)
    again = await sync.sync_now(business_id, full=True)
    assert again.status == "succeeded", again.error
    async with qbo.db.read() as session:
        tokens = list(await session.scalars(select(Bill.sync_token).where(Bill.business_id == business_id)))
    assert tokens == ["99"], "QBO still has the bill: the older copy it sent is skipped, not swept"
