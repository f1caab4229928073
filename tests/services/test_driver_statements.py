"""Service tests (domain core): prebuilt statements run on the SQLite driver answer what SQLAlchemy does.

`DriverStatement` takes SQLAlchemy's place on the request path's quick connections, so every row it reads
and every value it writes is held here to SQLAlchemy's own, on a real SQLite file, for each column type
the product stores (UTC datetimes, dates, exact JSON with Decimals, booleans, 64-bit integers, text).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from domains.core.db import Database, JSONType, UTCDateTime
from domains.core.driver_statements import DriverStatement

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_id", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("due_on", Date),
    Column("seen_at", UTCDateTime),
    Column("is_open", Boolean, nullable=False),
    Column("details", JSONType),
    Column("created_at", UTCDateTime, nullable=False, default=lambda: dt.datetime.now(dt.UTC)),
)
owners = Table("owners", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))

# What the request path's statements look like: table columns, bound names, literals, IN lists, aggregates.
BY_OWNER = select(*things.c).where(things.c.owner_id == bindparam("owner_id")).order_by(things.c.id)
WITH_OWNER = (
    select(things.c.id, things.c.name, owners.c.id, owners.c.name, things.c.seen_at)
    .join(owners, owners.c.id == things.c.owner_id)
    .where(things.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(things.c.id)
)
TOTALS = (
    select(
        things.c.owner_id,
        func.max(case((things.c.is_open.is_(True), things.c.amount_cents))),
        func.sum(case((things.c.name.in_(("a", "b")), 1), else_=0)),
        func.count(),
    )
    .where(things.c.owner_id.in_(bindparam("owners", expanding=True)), things.c.name != "hidden")
    .group_by(things.c.owner_id)
    .order_by(things.c.owner_id)
)
RAISE = (
    update(things)
    .where(things.c.id == bindparam("thing_id"))
    .values(amount_cents=things.c.amount_cents + 1, seen_at=bindparam("now"))
    .returning(things.c.amount_cents, things.c.seen_at, things.c.details)
)
ADD = insert(things)
FORGET = delete(things).where(things.c.owner_id == bindparam("owner_id"), things.c.is_open.is_(False))

NOW = dt.datetime(2026, 11, 27, 19, 30, 5, 123456, tzinfo=dt.UTC)


@pytest.fixture
def connection(tmp_path: Path) -> Any:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    assert db.quick_engine is not None
    metadata.create_all(db.quick_engine)
    with db.quick_engine.connect() as conn:
        conn.execute(insert(owners), [{"id": 1, "name": "One"}, {"id": 2, "name": "Two"}])
        conn.commit()
        yield conn


def _thing(**values: Any) -> dict[str, Any]:
    return {
        "owner_id": 1,
        "name": "a",
        "amount_cents": 1,
        "due_on": None,
        "seen_at": None,
        "is_open": True,
        "details": None,
        "created_at": NOW,
        **values,
    }


def _both(conn: Connection, statement: Any, params: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """The statement's rows through SQLAlchemy and through the driver, in one transaction, rolled back
    in between so a write is compared with the same write."""
    expected = [tuple(row) for row in conn.execute(statement, params)]
    conn.rollback()
    prepared = DriverStatement.of(statement, conn.dialect, tuple(params) if statement.is_dml else None)
    assert prepared is not None, "the request path's kind of statement runs on the driver"
    got = prepared.run(conn.connection.driver_connection, params).all()
    conn.rollback()
    return expected, got


def test_reads_answer_sqlalchemys_rows_keys_and_types(connection: Connection) -> None:
    connection.execute(
        ADD,
        [
            _thing(name="a", amount_cents=2**62, due_on=dt.date(2026, 12, 31), seen_at=NOW, is_open=False),
            _thing(
                name="b", details={"total": Decimal("1210.50"), "tiny": Decimal("0.10000000000000000000001")}
            ),
            _thing(owner_id=2, name="Zoë ' ; -- <b>", amount_cents=-5, details=["x", None, True]),
            _thing(owner_id=2, name="hidden"),
        ],
    )
    connection.commit()
    for statement, params in (
        (BY_OWNER, {"owner_id": 1}),
        (BY_OWNER, {"owner_id": 3}),
        (WITH_OWNER, {"ids": [1, 3, 4]}),
        (TOTALS, {"owners": [1, 2]}),
    ):
        expected, got = _both(connection, statement, params)
        assert got == expected
        sqlalchemy_rows = list(connection.execute(statement, params))
        connection.rollback()
        for ours, theirs in zip(got, sqlalchemy_rows, strict=True):
            assert ours._asdict() == dict(theirs._mapping), "the same keys, so attribute access agrees"
            assert [type(v) for v in ours] == [type(v) for v in theirs]
    rows = DriverStatement.of(BY_OWNER, connection.dialect).run(  # type: ignore[union-attr]
        connection.connection.driver_connection, {"owner_id": 1}
    )
    first = rows.first()
    assert first.seen_at == NOW
    assert first.seen_at.tzinfo is not None, "UTC put back on read"
    assert rows.all()[1].details["total"] == Decimal("1210.50"), "JSON numbers stay exact"


def test_writes_store_what_sqlalchemy_stores(connection: Connection) -> None:
    connection.execute(ADD, _thing(details={"n": Decimal("1.10")}))
    connection.commit()
    expected, got = _both(connection, RAISE, {"thing_id": 1, "now": NOW})
    assert got == expected
    assert got[0].seen_at == NOW

    params = _thing(name="new", seen_at=NOW, details={"a": [1, Decimal("2.50")]}, due_on=dt.date(2027, 1, 2))
    prepared = DriverStatement.of(ADD, connection.dialect, tuple(params))
    assert prepared is not None
    assert prepared.run(connection.connection.driver_connection, params).rowcount == 1
    stored = connection.execute(select(*things.c).where(things.c.name == "new")).one()
    assert stored._mapping == {**params, "id": stored.id}

    connection.execute(ADD, [_thing(owner_id=2, is_open=False), _thing(owner_id=2)])
    deleting = DriverStatement.of(FORGET, connection.dialect)
    assert deleting is not None
    assert deleting.run(connection.connection.driver_connection, {"owner_id": 2}).rowcount == 1


def test_driver_errors_are_raised_as_sqlalchemy_raises_them(connection: Connection) -> None:
    """Callers catch SQLAlchemy's IntegrityError (two keypresses racing to decide one item, say)."""
    params = {**_thing(), "id": 7}
    prepared = DriverStatement.of(ADD, connection.dialect, tuple(params))
    assert prepared is not None
    prepared.run(connection.connection.driver_connection, params)
    with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: things\.id"):
        prepared.run(connection.connection.driver_connection, params)


def test_what_it_cannot_run_the_way_sqlalchemy_does_is_left_to_sqlalchemy(connection: Connection) -> None:
    without_created_at = {k: v for k, v in _thing().items() if k != "created_at"}
    assert DriverStatement.of(ADD, connection.dialect, tuple(without_created_at)) is None, (
        "a Python-side default is SQLAlchemy's to work out"
    )
    prepared = DriverStatement.of(WITH_OWNER, connection.dialect)
    assert prepared is not None
    assert prepared.run(connection.connection.driver_connection, {"ids": []}) is None, (
        "an empty IN list is SQLAlchemy's to render"
    )
    with pytest.raises(Exception, match="owner_id"):
        DriverStatement.of(BY_OWNER, connection.dialect).run(  # type: ignore[union-attr]
            connection.connection.driver_connection, {}
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(min_size=0, max_size=100),
    amount=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    due_on=st.none() | st.dates(),
    seen_at=st.none() | st.datetimes(timezones=st.just(dt.UTC)),
    details=st.none()
    | st.dictionaries(
        st.text(max_size=5),
        st.none()
        | st.booleans()
        | st.integers()
        | st.decimals(allow_nan=False, allow_infinity=False, places=4),
        max_size=4,
    ),
)
def test_any_value_round_trips_as_through_sqlalchemy(
    connection: Connection, name: str, amount: int, due_on: dt.date | None, seen_at: Any, details: Any
) -> None:
    params = _thing(name=name, amount_cents=amount, due_on=due_on, seen_at=seen_at, details=details)
    written = DriverStatement.of(ADD, connection.dialect, tuple(params))
    assert written is not None
    written.run(connection.connection.driver_connection, params)
    thing_id = connection.execute(select(func.max(things.c.id))).scalar_one()
    through_sqlalchemy = connection.execute(select(*things.c).where(things.c.id == thing_id)).one()
    assert {**through_sqlalchemy._mapping, "id": None} == {**params, "id": None}
    expected, got = _both(
        connection, select(*things.c).where(things.c.id == bindparam("id")), {"id": thing_id}
    )
    assert got == expected
    connection.rollback()


def test_the_sqlite_file_holds_the_same_text_either_way(connection: Connection, tmp_path: Path) -> None:
    """Another reader (a backup, a migration, SQLAlchemy on another engine) sees no difference."""
    params = _thing(seen_at=NOW, due_on=dt.date(2026, 2, 3), details={"x": Decimal("3.10")})
    connection.execute(ADD, params)
    prepared = DriverStatement.of(ADD, connection.dialect, tuple(params))
    assert prepared is not None
    prepared.run(connection.connection.driver_connection, params)
    connection.commit()
    raw = sqlite3.connect(tmp_path / "driver.db")
    try:
        stored = raw.execute(
            "SELECT name, amount_cents, due_on, seen_at, is_open, details FROM things"
        ).fetchall()
    finally:
        raw.close()
    assert stored[0] == stored[1]
