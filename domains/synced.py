"""Domain (synced QBO entities): the shared columns of every synced table and its generic CRUD primitives.

Every synced entity row belongs to one business and is identified inside it by its QBO `Id`; the row keeps
the QBO `SyncToken`, `MetaData.LastUpdatedTime` and the raw JSON it was mapped from. Entities with lines
declare a relationship named `lines` to a `SyncedLine` subclass; the generic upsert replaces those lines in
the same transaction as their parent.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    SQLColumnExpression,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    inspect,
    select,
)
from sqlalchemy.engine import Dialect, create_engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine
from sqlalchemy.orm import Mapped, RelationshipProperty, declared_attr, mapped_column, selectinload
from sqlalchemy.sql import cast

from domains.core.db import (
    Base,
    BigIntPK,
    Database,
    JSONType,
    UTCDateTime,
    json_deserializer,
    json_serializer,
    run_on_sqlite_driver,
    utcnow,
)

# Parents per line replacement and per delete: keeps an IN (...) list well under SQLite's 32,766
# bound-parameter limit. (Entity upserts go 1,000 rows per statement, see `_ROWS_PER_STATEMENT`.)
_CHUNK = 500


class SyncedEntity(Base):
    """Columns shared by every entity synced from QBO, unique per (business_id, qbo_id)."""

    __abstract__ = True

    # sort_order puts identity first and bookkeeping last in CREATE TABLE, around the entity's own columns.
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, sort_order=-100)

    @declared_attr
    def business_id(cls) -> Mapped[int]:
        # No separate index: the unique (business_id, qbo_id) constraint already leads with business_id.
        return mapped_column(BigIntPK, ForeignKey("businesses.id", ondelete="CASCADE"), sort_order=-99)

    qbo_id: Mapped[str] = mapped_column(String(32), sort_order=-98)
    # A string in QBO that only ever holds a decimal integer; compared as an integer, never as text.
    sync_token: Mapped[str] = mapped_column(String(16), sort_order=-97)
    qbo_updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, sort_order=100)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType, sort_order=101)
    synced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, sort_order=102)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("business_id", "qbo_id"), *cls.extra_table_args())

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        """Indexes a concrete entity adds for the queries the product runs on it."""
        return ()


class SyncedTransaction(SyncedEntity):
    """A dated QBO transaction: the header fields Bill, Invoice, Payment, Purchase, Deposit... share."""

    __abstract__ = True

    txn_date: Mapped[dt.date] = mapped_column(Date, sort_order=-50)
    total_cents: Mapped[int] = mapped_column(BigInteger, sort_order=-49)
    currency: Mapped[str] = mapped_column(String(3), sort_order=-48)
    # Decimal text (home units per unit of `currency`); SQLite has no exact decimal type.
    exchange_rate: Mapped[str | None] = mapped_column(String(32), sort_order=-47)
    home_total_cents: Mapped[int | None] = mapped_column(BigInteger, sort_order=-46)
    doc_number: Mapped[str | None] = mapped_column(String(64), sort_order=-45)
    private_note: Mapped[str | None] = mapped_column(Text, sort_order=-44)


class SyncedLine(Base):
    """Columns shared by the line tables: each line belongs to one parent row and one business.

    Concrete line classes add the foreign key to their parent (`bill_id`, ...) with ON DELETE CASCADE.
    """

    __abstract__ = True

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, sort_order=-100)

    @declared_attr
    def business_id(cls) -> Mapped[int]:
        return mapped_column(
            BigIntPK, ForeignKey("businesses.id", ondelete="CASCADE"), index=True, sort_order=-99
        )

    # QBO's line Id; absent on some lines (payment and sub-total lines), so `position` orders them.
    line_id: Mapped[str | None] = mapped_column(String(32), sort_order=-97)
    position: Mapped[int] = mapped_column(sort_order=-96)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return cls.extra_table_args()

    @classmethod
    def extra_table_args(cls) -> tuple[Any, ...]:
        """Indexes a concrete line table adds, e.g. on the transactions its lines link to."""
        return ()


def parent_fk(table: str) -> Mapped[int]:
    """The indexed, cascading foreign key from a line table to its parent entity table."""
    return mapped_column(BigIntPK, ForeignKey(f"{table}.id", ondelete="CASCADE"), index=True, sort_order=-98)


def business_index(table: str, suffix: str, *columns: str) -> Index:
    """An index led by business_id, because every query on business data is scoped by it."""
    return Index(f"ix_{table}_{suffix}", "business_id", *columns)


@dataclass(frozen=True, slots=True)
class EntityRow:
    """One mapped QBO entity ready to store: its column values and, for entities with lines, the lines.

    `values` holds every column of the entity's table except id, business_id and synced_at; each line
    dict holds every column of the line table except id, business_id, position and the parent key.
    """

    values: Mapping[str, Any]
    lines: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    @property
    def qbo_id(self) -> str:
        return str(self.values["qbo_id"])


E = TypeVar("E", bound=SyncedEntity)


class RawJSON(str):
    """JSON text to store in a JSON column as it is, e.g. a QBO object exactly as QBO sent it.

    `upsert_entities` writes it without parsing or re-encoding it; read back, the column holds the parsed
    object, as when the value was a dict.
    """

    __slots__ = ()


def json_safe(value: Any) -> Any:
    """A copy of parsed QBO JSON that the JSON column can serialise.

    QBO JSON is parsed with Decimal numbers, which `json.dumps` rejects. A Decimal becomes an int when
    integral with no fraction digits, else a float when the float's shortest repr is the same number (the
    stored JSON text is then numerically identical), else its string so nothing is silently rounded.
    """
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:
            return int(value)
        as_float = float(value)
        if value.is_finite() and Decimal(repr(as_float)) == value:
            return as_float
        return str(value)
    return value


def lines_relationship(model: type[SyncedEntity]) -> RelationshipProperty[Any] | None:
    """The `lines` relationship of an entity model, or None for entities without lines."""
    return inspect(model).relationships.get("lines")


def _line_parent_column(rel: RelationshipProperty[Any]) -> str:
    ((_local, remote),) = rel.local_remote_pairs or ()
    return str(remote.key)


@functools.cache
def _expected_columns(table: Table, managed: frozenset[str]) -> frozenset[str]:
    return frozenset(c.key for c in table.columns) - managed


# Bound parameters per statement: under SQLite's 32,766 and asyncpg's 32,767.
_MAX_PARAMETERS = 32_000
_ROWS_PER_STATEMENT = 1_000


@dataclass(frozen=True, slots=True, eq=False)
class _DriverRows:
    """How one table's rows go to the database driver on one dialect, without a Core statement per row.

    `columns` are the columns a mapped row supplies, in statement order after the `leading` ones the
    sync machinery fills (business_id, synced_at; for lines business_id, the parent key, position).
    `processors` are SQLAlchemy's own bind processors for this dialect (JSON text, datetimes, dates,
    booleans), so the stored values are exactly what a Core statement would store.
    """

    dialect: Dialect
    table: Table
    leading: tuple[str, ...]
    columns: tuple[str, ...]
    expected: frozenset[str]
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    leading_processors: tuple[Callable[[Any], Any] | None, ...]

    @property
    def width(self) -> int:
        return len(self.leading) + len(self.columns)

    @property
    def compared(self) -> list[str]:
        """The columns whose stored values decide whether a row of the same SyncToken is unchanged."""
        return [key for key in self.columns if key not in {"qbo_id", "sync_token"}]

    def quote(self, name: str) -> str:
        return str(self.dialect.identifier_preparer.quote(name))

    def check(self, values: Mapping[str, Any], what: str) -> None:
        # Every expected key present and no more: the same length and each column found (`values` below
        # looks each one up) is the same test as comparing key sets, without building a set per row.
        if len(values) == len(self.columns) and all(map(values.__contains__, self.columns)):
            return
        if values.keys() != self.expected:
            missing = self.expected - values.keys()
            unknown = values.keys() - self.expected
            raise ValueError(
                f"{what} for {self.table.name}: missing {sorted(missing)}, unknown {sorted(unknown)}"
            )

    def values(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The row's own values in statement order, converted for the driver.

        A tuple: once it holds only plain values the garbage collector stops tracking it, where a list
        would stay on its books (a full sync holds a few prepared pages, tens of thousands of rows, and
        the collections between requests walked every one)."""
        record = list(map(values.__getitem__, self.columns))
        for index, process in self.processors:
            record[index] = process(record[index])
        return tuple(record)

    def leading_values(self, *values: Any) -> list[Any]:
        return [v if p is None else p(v) for v, p in zip(values, self.leading_processors, strict=True)]

    def values_markers(self, rows: int) -> str:
        """The bind parameter markers of a VALUES list of `rows` rows, in the driver's style."""
        width = self.width
        if self.dialect.paramstyle == "qmark":
            group = "(" + ", ".join(["?"] * width) + ")"
            return ", ".join([group] * rows)
        return ", ".join(
            "(" + ", ".join(f"${row * width + col + 1}" for col in range(width)) + ")" for row in range(rows)
        )

    def column_list(self) -> str:
        return ", ".join(self.quote(key) for key in (*self.leading, *self.columns))


def sqlite_text_processor(column_type: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """For SQLite, a faster equivalent of SQLAlchemy's bind processor for UTC datetimes and dates (the
    same text, from `isoformat` instead of %-formatting a dict); None for other types. A bulk upsert
    converts one of each per row; tests hold both to SQLAlchemy's output."""
    if isinstance(column_type, UTCDateTime):
        return _sqlite_utc_datetime
    if type(column_type) is Date:
        general = column_type.dialect_impl(dialect).bind_processor(dialect)
        assert general is not None

        def sqlite_date(value: Any) -> Any:
            return value.isoformat() if type(value) is dt.date else general(value)

        return sqlite_date
    return None


def _sqlite_utc_datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
    # "YYYY-MM-DD HH:MM:SS.ffffff+00:00" without its offset: SQLAlchemy's SQLite DATETIME storage format.
    return value.astimezone(dt.UTC).isoformat(" ", "microseconds")[:26]


def _restored_by_name(
    name: str,
    model: type[SyncedEntity],
    portable: tuple[list[str], list[int], list[tuple[Any, ...]], list[Any] | None],
) -> PreparedRows:
    return PreparedRows.restored(driver_dialect(name), model, portable)


def dialect_name(dialect: Dialect) -> str:
    """What `driver_dialect` takes to give a dialect like `dialect` ("sqlite+aiosqlite", ...)."""
    return f"{dialect.name}+{dialect.driver}"


def ready_to_restore(dialect_name: str) -> None:
    """Load now what `PreparedRows` sent from another process need to be restored and written here (every
    model, the dialect): in a writer process as it starts, so that its first write costs what the next
    one does."""
    from domains.models_registry import import_all_models  # it imports this module's users

    import_all_models()
    driver_dialect(dialect_name)


@functools.lru_cache(maxsize=8)
def driver_dialect(name: str) -> Dialect:
    """The dialect `name` ("sqlite+aiosqlite", ...) configured as `Database` configures its engines, so
    that values are converted exactly as in the serving process, in a process that has no engine (the
    mapping process, the writer process). No connection is made."""
    url = make_url(f"{name}://")
    options: dict[str, Any] = {"json_serializer": json_serializer, "json_deserializer": json_deserializer}
    if getattr(url.get_dialect(), "is_async", False):
        return create_async_engine(url, **options).dialect
    return create_engine(url, **options).dialect


@functools.lru_cache(maxsize=128)
def _driver_rows(table: Table, dialect: Dialect, leading: tuple[str, ...]) -> _DriverRows:
    if dialect.paramstyle not in {"qmark", "numeric_dollar"}:
        raise RuntimeError(f"upsert does not support the {dialect.paramstyle!r} parameter style")

    def processor(key: str) -> Callable[[Any], Any] | None:
        column_type = table.c[key].type
        if dialect.name == "sqlite":
            fast = sqlite_text_processor(column_type, dialect)
            if fast is not None:
                return fast
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is None or not isinstance(table.c[key].type, JSON):
            return process
        encode = process

        def json_text(value: Any) -> Any:
            return str(value) if type(value) is RawJSON else encode(value)

        return json_text

    columns = tuple(c.key for c in table.columns if c.key != "id" and c.key not in leading)
    return _DriverRows(
        dialect,
        table,
        leading,
        columns,
        _expected_columns(table, frozenset(("id", *leading))),
        tuple((i, process) for i, key in enumerate(columns) if (process := processor(key)) is not None),
        tuple(processor(key) for key in leading),
    )


# The SQL below is built from table metadata only (quoted identifiers); every value is a bound parameter.


def _returns_rows_one_by_one(dialect: Dialect) -> bool:
    # The sqlite3 module fetches each result row with its own sqlite3_step, letting go of the GIL and
    # taking it back every time; when the event loop is busy (mapping the next page), each take waits its
    # turn, and a thousand of them made writing a page take twice as long. asyncpg returns rows in bulk.
    return dialect.name == "sqlite"


@functools.lru_cache(maxsize=64)
def _upsert_sql(rows: _DriverRows, count: int) -> str:
    """INSERT of `count` rows ... ON CONFLICT (business_id, qbo_id) DO UPDATE unless the stored SyncToken
    is higher (on SQLite: or the same, with the same values): the rule `upsert_entities` documents, in
    the driver's own SQL. On PostgreSQL it ends with RETURNING id, qbo_id (the rows written); SQLite reads
    them back with `_written_sql` instead."""
    q = rows.quote
    table = rows.dialect.identifier_preparer.format_table(rows.table)
    updated = [key for key in (*rows.leading, *rows.columns) if key not in {"business_id", "qbo_id"}]
    assignments = ", ".join(f"{q(key)} = excluded.{q(key)}" for key in updated)
    stored_token = f"CAST({table}.{q('sync_token')} AS BIGINT)"
    token = f"CAST(excluded.{q('sync_token')} AS BIGINT)"
    if rows.dialect.name == "sqlite":
        # The same version is rewritten only if anything stored would differ (mapped differently since).
        stored = ", ".join(f"{table}.{q(key)}" for key in rows.compared)
        delivered = ", ".join(f"excluded.{q(key)}" for key in rows.compared)
        rewrite = (
            f"{stored_token} < {token} OR ({stored_token} = {token} AND ({stored}) IS NOT ({delivered}))"
        )
    else:
        rewrite = f"{stored_token} <= {token}"
    returning = "" if _returns_rows_one_by_one(rows.dialect) else f" RETURNING {q('id')}, {q('qbo_id')}"
    return (
        f"INSERT INTO {table} ({rows.column_list()}) VALUES {rows.values_markers(count)} "  # noqa: S608
        f"ON CONFLICT ({q('business_id')}, {q('qbo_id')}) DO UPDATE SET {assignments} "
        f"WHERE {rewrite}{returning}"
    )


@functools.lru_cache(maxsize=64)
def _written_sql(rows: _DriverRows, count: int) -> str:
    """SQLite: the id, qbo_id and SyncToken of one business's rows with `count` qbo_ids, and whether the
    upsert wrote each (its `synced_at` is the upsert's), as one JSON text in one result row (parameters:
    the upsert's synced_at, business_id, then the qbo_ids)."""
    q = rows.quote
    table = rows.dialect.identifier_preparer.format_table(rows.table)
    marks = ", ".join(["?"] * count)
    return (
        "SELECT json_group_array(json_array("  # noqa: S608
        f"{q('id')}, {q('qbo_id')}, {q('sync_token')}, {q('synced_at')} = ?)) "
        f"FROM {table} WHERE {q('business_id')} = ? AND {q('qbo_id')} IN ({marks})"
    )


@functools.lru_cache(maxsize=64)
def _stamp_sql(rows: _DriverRows, count: int) -> str:
    """SQLite: stamp `synced_at` on one business's rows with `count` qbo_ids (parameters: synced_at,
    business_id, then the qbo_ids)."""
    q = rows.quote
    table = rows.dialect.identifier_preparer.format_table(rows.table)
    marks = ", ".join(["?"] * count)
    return (
        f"UPDATE {table} SET {q('synced_at')} = ? "  # noqa: S608
        f"WHERE {q('business_id')} = ? AND {q('qbo_id')} IN ({marks})"
    )


@functools.lru_cache(maxsize=64)
def _unchanged_sql(rows: _DriverRows, count: int) -> str:
    """SQLite: which of `count` delivered rows one business already stores exactly as delivered (the same
    SyncToken, every value `_upsert_sql` compares the same), as one JSON array of their qbo_ids
    (parameters: each row's own values, then business_id).

    Delivered values carry no column affinity here, unlike the upsert's `excluded` row; a value that only
    affinity would make equal counts as changed, which costs a write, never a missed one."""
    q = rows.quote
    table = rows.dialect.identifier_preparer.format_table(rows.table)
    marks = ", ".join(["(" + ", ".join(["?"] * len(rows.columns)) + ")"] * count)
    stored = ", ".join(f"stored.{q(key)}" for key in rows.compared)
    delivered = ", ".join(f"delivered.{q(key)}" for key in rows.compared)
    return (
        f"WITH delivered ({', '.join(map(q, rows.columns))}) AS (VALUES {marks}) "  # noqa: S608
        f"SELECT json_group_array(delivered.{q('qbo_id')}) FROM delivered "
        f"JOIN {table} AS stored ON stored.{q('business_id')} = ? "
        f"AND stored.{q('qbo_id')} = delivered.{q('qbo_id')} "
        f"WHERE CAST(stored.{q('sync_token')} AS BIGINT) = CAST(delivered.{q('sync_token')} AS BIGINT) "
        f"AND ({stored}) IS ({delivered})"
    )


@functools.lru_cache(maxsize=64)
def _delete_lines_sql(lines: _DriverRows, count: int) -> str:
    """DELETE of one business's lines of `count` parents (parameters: business_id, then the parent ids)."""
    q = lines.quote
    business, parent = q(lines.leading[0]), q(lines.leading[1])
    if lines.dialect.paramstyle == "qmark":
        first, marks = "?", ", ".join(["?"] * count)
    else:
        first, marks = "$1", ", ".join(f"${index + 2}" for index in range(count))
    table = lines.dialect.identifier_preparer.format_table(lines.table)
    # Unary plus keeps the planner off the business_id index: without statistics SQLite would walk every
    # line of the business for each page instead of looking up the parents' lines.
    return f"DELETE FROM {table} WHERE +{business} = {first} AND {parent} IN ({marks})"  # noqa: S608


@functools.lru_cache(maxsize=64)
def _insert_sql(rows: _DriverRows, count: int) -> str:
    table = rows.dialect.identifier_preparer.format_table(rows.table)
    return f"INSERT INTO {table} ({rows.column_list()}) VALUES {rows.values_markers(count)}"  # noqa: S608


# The columns the sync machinery fills ahead of a mapped row's own (see `_DriverRows`).
_ROW_LEADING = ("business_id", "synced_at")


def _line_leading(rel: RelationshipProperty[Any]) -> tuple[str, ...]:
    return ("business_id", _line_parent_column(rel), "position")


@dataclass(frozen=True, slots=True, eq=False)
class PreparedRows:
    """Entity rows of one model made ready for one dialect's driver by `prepare_rows`: deduplicated,
    checked, each row's values (and its lines') converted and in statement order.

    That is the CPU of an upsert, done before its write transaction opens: a full sync prepares a page
    while the page before is being written, and holds SQLite's write lock only for the SQL itself.
    """

    model: type[SyncedEntity]
    driver: _DriverRows
    qbo_ids: list[str]
    sync_tokens: list[int]
    records: list[tuple[Any, ...]]
    # Per row, its lines' values after the leading (business_id, parent key, position); None without lines.
    lines: list[tuple[tuple[Any, ...], ...]] | None
    line_driver: _DriverRows | None

    def __len__(self) -> int:
        return len(self.qbo_ids)

    def deduplicated(self) -> PreparedRows:
        """One row per qbo_id: the highest SyncToken (the last of equal ones), in the order each qbo_id
        first appears. PostgreSQL refuses to update the same row twice in one INSERT ... ON CONFLICT."""
        if len(set(self.qbo_ids)) == len(self.qbo_ids):
            return self
        newest: dict[str, int] = {}
        for index, (qbo_id, token) in enumerate(zip(self.qbo_ids, self.sync_tokens, strict=True)):
            current = newest.get(qbo_id)
            if current is None or token >= self.sync_tokens[current]:
                newest[qbo_id] = index
        keep = list(newest.values())
        return self._picked(lambda column: [column[i] for i in keep])

    def without(self, qbo_ids: set[str]) -> PreparedRows:
        """These rows but those with one of `qbo_ids`, in order."""
        keep = [index for index, qbo_id in enumerate(self.qbo_ids) if qbo_id not in qbo_ids]
        return self._picked(lambda column: [column[i] for i in keep])

    def split(self, size: int) -> tuple[PreparedRows, PreparedRows]:
        """The first `size` rows, and the rest."""
        return self._picked(lambda column: column[:size]), self._picked(lambda column: column[size:])

    def pieces(self, size: int) -> list[PreparedRows]:
        """These rows in pieces of `size` rows, in order (none for no rows)."""
        return [self._picked(operator.itemgetter(slice(at, at + size))) for at in range(0, len(self), size)]

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its portable values (the driver's processors are closures): for the writer process.
        return _restored_by_name, (dialect_name(self.driver.dialect), self.model, self.portable())

    def portable(self) -> tuple[list[str], list[int], list[tuple[Any, ...]], list[Any] | None]:
        """The rows' values without the model and driver, to send to another process (`restored`)."""
        return self.qbo_ids, self.sync_tokens, self.records, self.lines

    @staticmethod
    def restored(
        dialect: Dialect,
        model: type[SyncedEntity],
        portable: tuple[list[str], list[int], list[tuple[Any, ...]], list[Any] | None],
    ) -> PreparedRows:
        """Rows that `prepare_rows` prepared for `model` on a dialect like `dialect` in another process,
        from their `portable` values."""
        table = model.__table__
        assert isinstance(table, Table)
        qbo_ids, sync_tokens, records, lines = portable
        rel = lines_relationship(model)
        line_driver = None
        if rel is not None:
            line_table = rel.target
            assert isinstance(line_table, Table)
            line_driver = _driver_rows(line_table, dialect, _line_leading(rel))
        if (lines is None) != (line_driver is None) or len(records) != len(qbo_ids):
            raise ValueError(f"prepared rows that do not fit {model.__name__}")
        driver = _driver_rows(table, dialect, _ROW_LEADING)
        return PreparedRows(model, driver, qbo_ids, sync_tokens, records, lines, line_driver)

    def _picked(self, pick: Callable[[list[Any]], list[Any]]) -> PreparedRows:
        """These rows with `pick` applied to each per-row list alike."""
        return PreparedRows(
            self.model,
            self.driver,
            pick(self.qbo_ids),
            pick(self.sync_tokens),
            pick(self.records),
            None if self.lines is None else pick(self.lines),
            self.line_driver,
        )

    @staticmethod
    def joined(parts: Sequence[PreparedRows]) -> PreparedRows:
        """Parts prepared one after another (by `prepare_rows` over slices of rows) as one; at least one
        part. A qbo_id in two parts stays twice (`deduplicated`)."""
        first = parts[0]
        lines = None if first.lines is None else [lines for part in parts for lines in part.lines or ()]
        return PreparedRows(
            first.model,
            first.driver,
            [qbo_id for part in parts for qbo_id in part.qbo_ids],
            [token for part in parts for token in part.sync_tokens],
            [record for part in parts for record in part.records],
            lines,
            first.line_driver,
        )


def prepare_rows(dialect: Dialect, model: type[SyncedEntity], rows: Iterable[EntityRow]) -> PreparedRows:
    """`rows` ready for `upsert_entities` on `dialect`, one per qbo_id (`PreparedRows.deduplicated`);
    raises ValueError for a row missing a column."""
    if dialect.name not in {"postgresql", "sqlite"}:
        raise RuntimeError(f"upsert is implemented for sqlite and postgresql, not {dialect.name}")
    table = model.__table__
    assert isinstance(table, Table)
    pending = list(rows)
    driver = _driver_rows(table, dialect, _ROW_LEADING)
    records: list[tuple[Any, ...]] = []
    for row in pending:
        driver.check(row.values, "entity row")
        records.append(driver.values(row.values))
    rel = lines_relationship(model)
    qbo_ids = [row.qbo_id for row in pending]
    tokens = [int(row.values["sync_token"]) for row in pending]
    if rel is None:
        return PreparedRows(model, driver, qbo_ids, tokens, records, None, None).deduplicated()
    line_table = rel.target
    assert isinstance(line_table, Table)
    line_driver = _driver_rows(line_table, dialect, _line_leading(rel))
    lines: list[tuple[tuple[Any, ...], ...]] = []
    for row in pending:
        for line in row.lines:
            line_driver.check(line, "line")
        lines.append(tuple([line_driver.values(line) for line in row.lines]))
    return PreparedRows(model, driver, qbo_ids, tokens, records, lines, line_driver).deduplicated()


async def upsert_entities(
    session: AsyncSession,
    business_id: int,
    model: type[SyncedEntity],
    rows: Iterable[EntityRow] | PreparedRows,
    *,
    synced_at: dt.datetime | None = None,
) -> list[str]:
    """Insert or update synced entities of one business, replacing their lines; returns the qbo_ids written.

    A row whose SyncToken is lower (as an integer) than the stored one is ignored: it is an older version
    delivered late (webhooks and CDC can arrive out of order). An equal SyncToken rewrites the row, so
    re-running a sync is harmless; on SQLite only if anything the row stores would differ (a row mapped
    differently since): one stored exactly as delivered is only stamped and keeps its lines, since every
    row rewritten holds the database's one write lock longer. Rows written or stamped get `synced_at`
    (default: now) and are returned. Runs inside the caller's transaction. `rows` may come from
    `prepare_rows` for this model and the session's dialect.
    """
    dialect = session.get_bind().dialect
    if isinstance(rows, PreparedRows):
        prepared = rows
        if prepared.model is not model or prepared.driver.dialect.name != dialect.name:
            raise ValueError(f"rows prepared for {prepared.model.__name__} on {prepared.driver.dialect.name}")
    else:
        prepared = prepare_rows(dialect, model, rows)
    if not prepared.qbo_ids:
        return []
    # Rows go to the driver as one multi-row INSERT ... ON CONFLICT per 1,000 rows, from SQL built once
    # per table and size, with the values already converted: a Core statement spent most of a sync's CPU
    # on per-row parameter handling (see docs/performance.md).
    leading = prepared.driver.leading_values(business_id, synced_at or utcnow())
    connection = await session.connection()
    if dialect.name == "sqlite":
        return await _upsert_on_sqlite(connection, prepared, business_id, leading)
    stored: dict[str, int] = {}
    for sql, params in _upsert_statements(prepared, leading):
        # RETURNING yields only the rows inserted or updated, not those the WHERE skipped.
        returned: Sequence[Any] = (await connection.exec_driver_sql(sql, params)).all()
        stored.update((qbo_id, row_id) for row_id, qbo_id in returned)
    for sql, params in _line_statements(prepared, business_id, stored):
        await connection.exec_driver_sql(sql, params)
    return list(stored)


async def upsert_alone_on_sqlite(
    db: Database,
    business_id: int,
    prepared: PreparedRows,
    *,
    synced_at: dt.datetime,
    on_loop_thread: bool = False,
) -> list[str]:
    """SQLite: `upsert_entities` of prepared rows as a transaction of their own, begun, run and committed
    in one trip to the driver's thread (`Database.write_in_one_trip`, which says when `on_loop_thread`),
    so the write lock is held for the SQL alone; returns the qbo_ids written."""
    leading = prepared.driver.leading_values(business_id, synced_at)
    return await db.write_in_one_trip(
        functools.partial(_upsert_on_sqlite_driver, prepared, business_id, leading),
        on_loop_thread=on_loop_thread,
    )


async def _upsert_on_sqlite(
    connection: AsyncConnection, prepared: PreparedRows, business_id: int, leading: list[Any]
) -> list[str]:
    """`upsert_entities` on SQLite: `_upsert_on_sqlite_driver` in one trip to the driver's thread."""
    return await run_on_sqlite_driver(
        connection, functools.partial(_upsert_on_sqlite_driver, prepared, business_id, leading)
    )


def _upsert_on_sqlite_driver(
    prepared: PreparedRows, business_id: int, leading: list[Any], database: Any
) -> list[str]:
    """`upsert_entities` on a DB-API SQLite connection, inside the transaction it is in: the upserts, each
    followed by the read-back of the rows it wrote (`_written_sql`), then the lines of those rows.

    All of it on the driver's thread in one trip: each trip back to the event loop waits for the loop,
    which on a serving process is busy with requests, and every wait was spent holding the write lock."""
    driver = prepared.driver
    synced_at = leading[1]
    statements: list[tuple[str, tuple[Any, ...]]] = []
    sent_by_statement: list[dict[str, int]] = []
    start = 0
    for sql, params in _upsert_statements(prepared, leading):
        count = len(params) // driver.width
        sent = dict(
            zip(
                prepared.qbo_ids[start : start + count],
                prepared.sync_tokens[start : start + count],
                strict=True,
            )
        )
        start += count
        statements += [(sql, params), (_written_sql(driver, len(sent)), (synced_at, business_id, *sent))]
        sent_by_statement.append(sent)
    found = _execute_all(statements, database)
    stored: dict[str, int] = {}
    unchanged: list[str] = []
    for text, sent in zip(found, sent_by_statement, strict=True):
        for row_id, qbo_id, token, written in msgspec.json.decode(text):
            if int(token) == sent.get(qbo_id):
                if written:
                    stored[qbo_id] = row_id
                else:
                    unchanged.append(qbo_id)
    # Rows already stored as delivered keep their lines and are only stamped, so that the sweep keeps them.
    stamps = _stamp_statements(driver, business_id, synced_at, unchanged)
    _execute_all([*_line_statements(prepared, business_id, stored), *stamps], database)
    return [*stored, *unchanged]


async def unchanged_on_sqlite(db: Database, business_id: int, prepared: PreparedRows) -> set[str]:
    """SQLite: the qbo_ids of `prepared`'s rows the business already stores exactly as delivered, which
    `upsert_entities` would only stamp (`_unchanged_sql`). Read without the write lock, so that a sync of
    unchanged books takes the lock only to stamp them (`stamp_alone_on_sqlite`)."""
    driver = prepared.driver
    statements = [
        (_unchanged_sql(driver, len(batch)), (*(value for record in batch for value in record), business_id))
        for batch in _record_batches(prepared, len(driver.columns))
    ]
    async with db.read() as session:
        connection = await session.connection()
        found = await run_on_sqlite_driver(connection, functools.partial(_execute_all, statements))
    return {qbo_id for text in found for qbo_id in msgspec.json.decode(text)}


async def stamp_alone_on_sqlite(
    db: Database,
    business_id: int,
    model: type[SyncedEntity],
    qbo_ids: Sequence[str],
    *,
    synced_at: dt.datetime,
    on_loop_thread: bool = False,
) -> None:
    """SQLite: stamp `synced_at` on the business's rows of `model` with these qbo_ids, as a transaction of
    its own in one trip to the driver (`Database.write_in_one_trip`)."""
    table = model.__table__
    assert isinstance(table, Table)
    driver = _driver_rows(table, db.write_engine.dialect, _ROW_LEADING)
    _business, stamp = driver.leading_values(business_id, synced_at)
    statements = _stamp_statements(driver, business_id, stamp, qbo_ids)
    await db.write_in_one_trip(functools.partial(_execute_all, statements), on_loop_thread=on_loop_thread)


def _stamp_statements(
    driver: _DriverRows, business_id: int, synced_at: Any, qbo_ids: Sequence[str]
) -> list[tuple[str, tuple[Any, ...]]]:
    """The UPDATEs stamping `synced_at` (as the driver takes it) on these rows, `_CHUNK` at a time."""
    return [
        (_stamp_sql(driver, len(chunk)), (synced_at, business_id, *chunk))
        for chunk in (qbo_ids[start : start + _CHUNK] for start in range(0, len(qbo_ids), _CHUNK))
    ]


def _execute_all(statements: Sequence[tuple[str, tuple[Any, ...]]], database: Any) -> list[Any]:
    """Run `statements` in order on a DB-API connection; the first column of the first row of each that
    returns rows."""
    results: list[Any] = []
    cursor = database.cursor()
    try:
        for sql, params in statements:
            cursor.execute(sql, params)
            if cursor.description:
                results.append(cursor.fetchone()[0])
    finally:
        cursor.close()
    return results


def _upsert_statements(prepared: PreparedRows, leading: list[Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The multi-row upserts of `prepared`'s rows, in order (`_upsert_sql`) with their parameters."""
    driver = prepared.driver
    for batch in _record_batches(prepared, driver.width):
        params: list[Any] = []
        for record in batch:
            params += leading
            params += record
        yield _upsert_sql(driver, len(batch)), tuple(params)


def _record_batches(prepared: PreparedRows, width: int) -> Iterator[list[tuple[Any, ...]]]:
    """`prepared`'s records in order, as many per statement as `width` parameters a row allow (at most
    `_ROWS_PER_STATEMENT`)."""
    per_statement = max(1, min(_ROWS_PER_STATEMENT, _MAX_PARAMETERS // width))
    for start in range(0, len(prepared.records), per_statement):
        yield prepared.records[start : start + per_statement]


def _line_statements(
    prepared: PreparedRows, business_id: int, stored: Mapping[str, int]
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The statements replacing the lines of the rows written (`stored`: qbo_id to row id): per chunk of
    parents a DELETE of their lines, then multi-row INSERTs of the new ones."""
    driver = prepared.line_driver
    if prepared.lines is None or driver is None or not stored:
        return
    written = [
        (stored[qbo_id], lines)
        for qbo_id, lines in zip(prepared.qbo_ids, prepared.lines, strict=True)
        if qbo_id in stored
    ]
    plain_leading = not any(driver.leading_processors)
    per_statement = max(1, _MAX_PARAMETERS // driver.width)
    for start in range(0, len(written), _CHUNK):
        chunk = written[start : start + _CHUNK]
        parent_ids = tuple(parent_id for parent_id, _lines in chunk)
        yield _delete_lines_sql(driver, len(parent_ids)), (business_id, *parent_ids)
        new_lines: list[tuple[Any, ...]] = []
        for parent_id, lines in chunk:
            for position, values in enumerate(lines):
                line_leading = (
                    (business_id, parent_id, position)
                    if plain_leading
                    else driver.leading_values(business_id, parent_id, position)
                )
                new_lines.append((*line_leading, *values))
        # Multi-row INSERTs rather than executemany, which steps (and hands the GIL back and forth) once
        # per line.
        for first in range(0, len(new_lines), per_statement):
            batch = new_lines[first : first + per_statement]
            yield _insert_sql(driver, len(batch)), tuple(value for line in batch for value in line)


async def delete_entities(
    session: AsyncSession, business_id: int, model: type[SyncedEntity], qbo_ids: Iterable[str]
) -> int:
    """Delete one business's entities by QBO Id (deleted in QBO), with their lines; returns rows deleted."""
    table = model.__table__
    deleted = 0
    for statement in deletion_statements(business_id, model, qbo_ids):
        result = await session.execute(statement)
        if statement.table is table:
            deleted += int(getattr(result, "rowcount", 0) or 0)
    return deleted


def deletion_statements(
    business_id: int,
    model: type[SyncedEntity],
    qbo_ids: Iterable[str],
    *,
    untouched_since: dt.datetime | None = None,
) -> list[Any]:
    """The DELETEs of one business's entities by QBO Id, each chunk's lines before the chunk, values bound.
    With `untouched_since`, only rows no write has stamped since then (`synced_at` before it) go."""
    table = model.__table__
    assert isinstance(table, Table)
    rel = lines_relationship(model)
    ids = sorted(set(qbo_ids))
    statements: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        where = [table.c.business_id == business_id, table.c.qbo_id.in_(ids[start : start + _CHUNK])]
        if untouched_since is not None:
            where.append(table.c.synced_at < untouched_since)
        if rel is not None:
            # Explicit rather than relying on ON DELETE CASCADE, which SQLite honours only with the pragma on.
            line_table = rel.target
            assert isinstance(line_table, Table)
            owned = select(table.c.id).where(*where).scalar_subquery()
            statements.append(delete(line_table).where(line_table.c[_line_parent_column(rel)].in_(owned)))
        statements.append(delete(table).where(*where))
    return statements


def dated_between(
    column: SQLColumnExpression[dt.date], since: dt.date | None, until: dt.date | None
) -> list[ColumnElement[bool]]:
    """Filters for a date column within [since, until], both inclusive and optional."""
    where: list[ColumnElement[bool]] = []
    if since is not None:
        where.append(column >= since)
    if until is not None:
        where.append(column <= until)
    return where


async def get_entity(
    session: AsyncSession, business_id: int, model: type[E], qbo_id: str, *, with_lines: bool = False
) -> E | None:
    """One entity of this business by QBO Id; None when absent or owned by another business."""
    stmt = select(model).where(model.business_id == business_id, model.qbo_id == qbo_id)
    rel = lines_relationship(model) if with_lines else None
    if rel is not None:
        stmt = stmt.options(selectinload(rel.class_attribute))
    return (await session.execute(stmt)).scalars().one_or_none()


async def list_entities(
    session: AsyncSession,
    business_id: int,
    model: type[E],
    *where: ColumnElement[bool],
    order_by: Sequence[Any] = (),
    with_lines: bool = False,
) -> list[E]:
    """Entities of this business matching `where`, ordered by `order_by` then by QBO Id as an integer."""
    stmt = select(model).where(model.business_id == business_id, *where)
    stmt = stmt.order_by(*order_by, cast(model.qbo_id, BigInteger), model.qbo_id)
    rel = lines_relationship(model) if with_lines else None
    if rel is not None:
        stmt = stmt.options(selectinload(rel.class_attribute))
    return list((await session.execute(stmt)).scalars().all())
