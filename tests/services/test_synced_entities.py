"""Service tests (domain synced entities): upsert, SyncToken ordering, lines, delete and business scoping.

Runs on a real SQLite file in tmp_path through `Database`, so the pragmas and BEGIN IMMEDIATE are real.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, make_url, select
from sqlalchemy.exc import IntegrityError

from domains.ap.models import Bill, BillLine, Vendor
from domains.ap.repository import get_bill, list_bills, list_open_bills, list_vendors
from domains.ar.models import Payment
from domains.ar.repository import list_payments
from domains.bank.models import Deposit
from domains.bank.repository import list_deposits
from domains.core import repository as core
from domains.core.db import Database
from domains.core.models import Business
from domains.qbo.client import encode_body
from domains.qbo.mappers import deleted_id, is_deleted, map_entity
from domains.synced import (
    EntityRow,
    RawJSON,
    delete_entities,
    prepare_rows,
    stamp_alone_on_sqlite,
    unchanged_on_sqlite,
    upsert_entities,
)

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qbo"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def fixture_entity(name: str, key: str) -> dict[str, Any]:
    obj = json.loads((FIXTURES / name).read_text(), parse_float=Decimal)[key]
    assert isinstance(obj, dict)
    return obj


# The fixture bill's two lines replaced by this one.
ONE_NEW_LINE = [
    {
        "Id": "7",
        "Amount": Decimal("1602.67"),
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {"AccountRef": {"name": "Supplies", "value": "20"}},
    }
]


def bill_row(**changes: Any) -> EntityRow:
    obj = copy.deepcopy(fixture_entity("bill.json", "Bill"))
    obj.update(changes)
    return map_entity("Bill", obj, home_currency="USD")


@pytest.fixture
def db(database: Database) -> Database:
    """A migrated database: a SQLite file, then PostgreSQL (the upsert speaks each one's SQL)."""
    return database


@pytest.fixture
async def businesses(db: Database) -> tuple[int, int]:
    return await _two_businesses(db)


async def _two_businesses(db: Database) -> tuple[int, int]:
    async with db.write() as session:
        alice, bob = Business(name="Alice's Bakery"), Business(name="Bob's Bikes")
        session.add_all([alice, bob])
        await session.flush()
        return alice.id, bob.id


async def count(db: Database, model: type[Any]) -> int:
    async with db.read() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_upsert_twice_is_idempotent(db: Database, businesses: tuple[int, int]) -> None:
    alice, _ = businesses
    for _ in range(2):
        async with db.write() as session:
            written = await upsert_entities(session, alice, Bill, [bill_row()])
        assert written == ["25"]
    assert await count(db, Bill) == 1
    assert await count(db, BillLine) == 2
    async with db.read() as session:
        bill = await get_bill(session, alice, "25", with_lines=True)
        assert bill is not None
        assert (bill.total_cents, bill.balance_cents, bill.sync_token, bill.vendor_qbo_id) == (
            160267,
            100000,
            "2",
            "46",
        )
        assert [line.amount_cents for line in bill.lines] == [140267, 20000]
        assert [line.position for line in bill.lines] == [0, 1]
        assert bill.raw["DocNumber"] == "NL-8812"
        assert bill.qbo_updated_at.tzinfo is not None


async def test_on_sqlite_a_row_stored_as_delivered_is_only_stamped(
    sqlite_database: Database,
) -> None:
    """A full sync of unchanged books: each row is stamped for the sweep, its lines left as they are."""
    db = sqlite_database
    alice, _ = await _two_businesses(db)
    first, later = dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    async with db.write() as session:
        # Another bill's lines after bill 25's: lines written again would get new ids after them.
        await upsert_entities(session, alice, Bill, [bill_row(), bill_row(Id="26")], synced_at=first)
    lines_before = await _line_ids(db)
    async with db.write() as session:
        written = await upsert_entities(session, alice, Bill, [bill_row()], synced_at=later)
    assert written == ["25"], "stamped rows count as seen, so the sweep keeps them"
    assert await _line_ids(db) == lines_before, "the lines were not deleted and written again"
    async with db.read() as session:
        bill = await get_bill(session, alice, "25")
        assert bill is not None
        assert bill.synced_at == later


async def test_on_sqlite_rows_stored_as_delivered_are_found_while_another_holds_the_write_lock(
    sqlite_database: Database,
) -> None:
    """What a sync beside requests only stamps, found by a read: the same version with every value as
    stored. Not a newer version, nor the same one with another value, nor another business's row, nor one
    never stored. The stamp moves `synced_at` alone."""
    db = sqlite_database
    alice, bob = await _two_businesses(db)
    first, later = dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    async with db.write() as session:
        stored = [bill_row(), bill_row(Id="26"), bill_row(Id="27")]
        await upsert_entities(session, alice, Bill, stored, synced_at=first)
        await upsert_entities(session, bob, Bill, [bill_row(Id="28")], synced_at=first)
    delivered = prepare_rows(
        db.write_engine.dialect,
        Bill,
        [
            bill_row(),
            bill_row(Id="26", SyncToken="3"),
            bill_row(Id="27", Balance=Decimal("1.00")),
            bill_row(Id="28"),
            bill_row(Id="29"),
        ],
    )
    lines_before = await _line_ids(db)
    holder = sqlite3.connect(str(make_url(db.url).database))
    holder.execute("BEGIN IMMEDIATE")  # a request's write, say: the read does not wait for it
    try:
        assert await unchanged_on_sqlite(db, alice, delivered) == {"25"}
    finally:
        holder.rollback()
        holder.close()

    await stamp_alone_on_sqlite(db, alice, Bill, ["25"], synced_at=later)
    async with db.read() as session:
        stamped = {b.qbo_id: b.synced_at for b in await list_bills(session, alice)}
    assert stamped == {"25": later, "26": first, "27": first}
    assert await _line_ids(db) == lines_before


async def test_the_same_sync_token_with_other_values_is_rewritten(
    db: Database, businesses: tuple[int, int]
) -> None:
    """The same version mapped differently (a newer Runway): what is stored follows what is delivered."""
    alice, _ = businesses
    async with db.write() as session:
        await upsert_entities(session, alice, Bill, [bill_row()])
    async with db.write() as session:
        written = await upsert_entities(
            session, alice, Bill, [bill_row(Balance=Decimal("1.00"), Line=ONE_NEW_LINE)]
        )
    assert written == ["25"]
    async with db.read() as session:
        bill = await get_bill(session, alice, "25", with_lines=True)
        assert bill is not None
        assert (bill.sync_token, bill.balance_cents) == ("2", 100)
        assert [line.line_id for line in bill.lines] == ["7"]


async def _line_ids(db: Database) -> list[int]:
    async with db.read() as session:
        return list(await session.scalars(select(BillLine.id).order_by(BillLine.id)))


async def test_duplicates_in_one_batch_keep_the_newest(db: Database, businesses: tuple[int, int]) -> None:
    alice, _ = businesses
    async with db.write() as session:
        await upsert_entities(
            session, alice, Bill, [bill_row(SyncToken="5", Balance=1), bill_row(SyncToken="3")]
        )
    async with db.read() as session:
        bill = await get_bill(session, alice, "25")
        assert bill is not None
        assert (bill.sync_token, bill.balance_cents) == ("5", 100)


async def test_lower_sync_token_is_ignored(db: Database, businesses: tuple[int, int]) -> None:
    alice, _ = businesses
    async with db.write() as session:
        await upsert_entities(session, alice, Bill, [bill_row(SyncToken="10", Balance=Decimal("10.00"))])
    # "9" < "10" as integers although not as strings: an older version delivered late must not win.
    async with db.write() as session:
        written = await upsert_entities(
            session, alice, Bill, [bill_row(SyncToken="9", Balance=Decimal("999.00"))]
        )
    assert written == []
    async with db.read() as session:
        bill = await get_bill(session, alice, "25", with_lines=True)
        assert bill is not None
        assert (bill.sync_token, bill.balance_cents, len(bill.lines)) == ("10", 1000, 2)


async def test_newer_version_replaces_lines(db: Database, businesses: tuple[int, int]) -> None:
    alice, _ = businesses
    async with db.write() as session:
        await upsert_entities(session, alice, Bill, [bill_row()])
    async with db.write() as session:
        await upsert_entities(session, alice, Bill, [bill_row(SyncToken="3", Line=ONE_NEW_LINE, Balance=0)])
    async with db.read() as session:
        bill = await get_bill(session, alice, "25", with_lines=True)
        open_bills = await list_open_bills(session, alice)
        assert bill is not None
        assert [(line.line_id, line.account_name, line.amount_cents) for line in bill.lines] == [
            ("7", "Supplies", 160267)
        ]
        assert open_bills == []
    assert await count(db, BillLine) == 1


async def test_delete_removes_entity_and_lines(db: Database, businesses: tuple[int, int]) -> None:
    alice, bob = businesses
    async with db.write() as session:
        await upsert_entities(session, alice, Bill, [bill_row(), bill_row(Id="26")])
        await upsert_entities(session, bob, Bill, [bill_row()])
    cdc = json.loads((FIXTURES / "cdc_deleted.json").read_text(), parse_float=Decimal)
    deleted = [
        deleted_id(obj) for obj in cdc["CDCResponse"][0]["QueryResponse"][0]["Bill"] if is_deleted(obj)
    ]
    async with db.write() as session:
        assert await delete_entities(session, alice, Bill, deleted) == 1
        assert await delete_entities(session, alice, Bill, ["404"]) == 0
    async with db.read() as session:
        assert [bill.qbo_id for bill in await list_bills(session, alice)] == ["26"]
        # Bob's bill with the same QBO Id is another business's row and stays.
        assert await get_bill(session, bob, "25") is not None
    assert await count(db, BillLine) == 4


async def test_business_scoping(db: Database, businesses: tuple[int, int]) -> None:
    alice, bob = businesses
    async with db.write() as session:
        await upsert_entities(session, alice, Bill, [bill_row()])
        await upsert_entities(
            session,
            bob,
            Vendor,
            [map_entity("Vendor", fixture_entity("vendor.json", "Vendor"), home_currency="USD")],
        )
    async with db.read() as session:
        assert await get_bill(session, bob, "25") is None
        assert await list_open_bills(session, bob) == []
        assert [b.qbo_id for b in await list_open_bills(session, alice)] == ["25"]
        assert await list_vendors(session, alice) == []
        assert [v.display_name for v in await list_vendors(session, bob)] == [
            "Norton Lumber and Building Materials"
        ]
    # The same QBO Id in two businesses is two rows, not a conflict.
    async with db.write() as session:
        await upsert_entities(session, bob, Bill, [bill_row(SyncToken="0")])
    assert await count(db, Bill) == 2


async def test_lines_of_payments_and_deposits_round_trip(db: Database, businesses: tuple[int, int]) -> None:
    alice, _ = businesses
    payment = map_entity("Payment", fixture_entity("payment.json", "Payment"), home_currency="USD")
    deposit = map_entity("Deposit", fixture_entity("deposit.json", "Deposit"), home_currency="USD")
    async with db.write() as session:
        await upsert_entities(session, alice, Payment, [payment])
        await upsert_entities(session, alice, Deposit, [deposit])
    async with db.read() as session:
        (stored_payment,) = await list_payments(session, alice)
        (stored_deposit,) = await list_deposits(session, alice)
        assert [(line.linked_txn_type, line.linked_txn_id) for line in stored_payment.lines] == [
            ("Invoice", "130"),
            ("CreditMemo", "131"),
        ]
        assert [(line.linked_txn_type, line.amount_cents) for line in stored_deposit.lines] == [
            ("Payment", 167552),
            (None, 26958),
        ]
        assert stored_payment.raw["TotalAmt"] == 700
        assert stored_payment.exchange_rate == "0.7327"


async def test_rows_missing_columns_are_refused(db: Database, businesses: tuple[int, int]) -> None:
    alice, _ = businesses
    row = bill_row()
    incomplete = EntityRow({k: v for k, v in row.values.items() if k != "balance_cents"}, row.lines)
    async with db.write() as session:
        with pytest.raises(ValueError, match=r"missing \['balance_cents'\]"):
            await upsert_entities(session, alice, Bill, [incomplete])


async def test_a_failed_write_raises_the_database_error_and_leaves_nothing(database: Database) -> None:
    """A statement the database refuses (here a business that does not exist: its foreign key) comes out
    as SQLAlchemy's IntegrityError on both databases, and the transaction leaves no row or line behind."""
    async with database.write() as session:
        business_id = (await core.create_business(session, name="Careful Co")).id

    async def write_for_both() -> None:
        async with database.write() as session:
            await upsert_entities(session, business_id, Bill, [bill_row(Id="7")])
            await upsert_entities(session, business_id + 1_000, Bill, [bill_row(Id="8")])

    with pytest.raises(IntegrityError):
        await write_for_both()
    assert await count(database, Bill) == 0
    assert await count(database, BillLine) == 0
    # The connection is usable afterwards: the next write goes through.
    async with database.write() as session:
        assert await upsert_entities(session, business_id, Bill, [bill_row(Id="9")]) == ["9"]
    assert await count(database, BillLine) == 2


async def test_raw_numbers_read_back_exactly_on_both_databases(database: Database) -> None:
    async with database.write() as session:
        business_id = (await core.create_business(session, name="Exact Numbers LLC")).id
    exotic = Decimal("0.10000000000000000000001")
    row = bill_row(TotalAmt=Decimal("1602.70"), ExchangeRate=exotic)
    async with database.write() as session:
        assert await upsert_entities(session, business_id, Bill, [row]) == ["25"]
    async with database.read() as session:
        bill = await get_bill(session, business_id, "25")
        assert bill is not None
        # Not 1602.7 or a rounded float: the figures QBO sent, digit for digit.
        assert str(bill.raw["TotalAmt"]) == "1602.70"
        assert bill.raw["ExchangeRate"] == exotic
        assert bill.raw["DocNumber"] == "NL-8812"
        assert bill.raw["Line"][0]["Amount"] == Decimal("1402.67")


async def test_large_batches_span_statements_on_both_databases(database: Database) -> None:
    """More rows than one INSERT carries: every row lands once, older versions are skipped, lines follow."""
    async with database.write() as session:
        business_id = (await core.create_business(session, name="Many Bills Ltd")).id
    first = [bill_row(Id=str(n), SyncToken="2") for n in range(1, 1_206)]
    async with database.write() as session:
        written = await upsert_entities(session, business_id, Bill, first)
    assert sorted(written, key=int) == [str(n) for n in range(1, 1_206)]
    # Odd Ids come back older (skipped), even Ids newer with a single line (rewritten, lines replaced).
    one_line = [{"Id": "1", "Amount": Decimal("5.00"), "DetailType": "AccountBasedExpenseLineDetail"}]
    second = [
        bill_row(Id=str(n), SyncToken="1") if n % 2 else bill_row(Id=str(n), SyncToken="3", Line=one_line)
        for n in range(1, 1_206)
    ]
    async with database.write() as session:
        written = await upsert_entities(session, business_id, Bill, second)
    assert sorted(written, key=int) == [str(n) for n in range(2, 1_206, 2)]
    async with database.read() as session:
        bills = {bill.qbo_id: bill for bill in await list_bills(session, business_id, with_lines=True)}
    assert len(bills) == 1_205
    assert (bills["1"].sync_token, len(bills["1"].lines)) == ("2", 2)
    assert (bills["1204"].sync_token, [line.amount_cents for line in bills["1204"].lines]) == ("3", [500])
    assert bills["1204"].raw["Id"] == "1204"
    assert bills["1204"].qbo_updated_at.tzinfo is not None


async def test_raw_json_text_is_stored_as_sent_on_both_databases(database: Database) -> None:
    async with database.write() as session:
        business_id = (await core.create_business(session, name="Exact Text LLC")).id
    row = bill_row(TotalAmt=Decimal("1602.70"), ExchangeRate=Decimal("0.10000000000000000000001"))
    text = RawJSON(encode_body(row.values["raw"]).decode())
    async with database.write() as session:
        stored = EntityRow({**row.values, "raw": text}, row.lines)
        assert await upsert_entities(session, business_id, Bill, [stored]) == ["25"]
    async with database.read() as session:
        bill = await get_bill(session, business_id, "25")
        assert bill is not None
        # Read back as the object it is, not as a string holding JSON, with every digit QBO sent.
        assert bill.raw == json.loads(text, parse_float=Decimal)
        assert str(bill.raw["TotalAmt"]) == "1602.70"
