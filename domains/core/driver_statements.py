"""Domain core: prebuilt Core statements run on the SQLite driver's cursor, compiled once by SQLAlchemy.

The request path's statements are built once (`functools.cache`) and each runs in 10-40 µs inside SQLite,
but SQLAlchemy's execution around it (execution context, parameter and result set-up, events) costs
several times that, most of a small request's time on a server. A statement is compiled here once per
dialect; after that a run is the driver's `execute` with the same values SQLAlchemy would have passed
(the types' own bind processors) and rows made with the types' own result processors. Anything this
does not do the way SQLAlchemy would is left to SQLAlchemy, and the caller executes as usual: a statement
with Python-side column defaults or literal-execute parameters (`DriverStatement.of` answers None), or a
run with an empty IN list (`DriverStatement.run` answers None).
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import ArgumentError, DBAPIError, MultipleResultsFound, NoResultFound

_Processor = Callable[[Any], Any] | None

# How SQLAlchemy marks an expanding (IN) parameter in compiled SQL, filled in at execution.
_EXPANDING = re.compile(r"\(__\[POSTCOMPILE_(\w+)\]\)")


class DriverRows:
    """The subset of SQLAlchemy's result that the request path uses, over rows already fetched."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return self._rows

    fetchall = all

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    fetchone = first

    def one(self) -> Any:
        if not self._rows:
            raise NoResultFound("No row was found when one was required")
        return self.one_or_none()

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return self.first()

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return None if row is None else row[0]

    def scalars(self) -> DriverRows:
        return DriverRows([row[0] for row in self._rows], self.rowcount)


@dataclass(frozen=True, slots=True)
class _Slot:
    """One positional parameter: its name, its type's bind processor, and its value when the statement
    carries one (a literal compared against) instead of taking it from the caller."""

    name: str
    processor: _Processor
    expanding: bool
    required: bool
    default: Any


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A Core statement compiled for one dialect, ready to run on that dialect's DBAPI cursor."""

    statement: Any  # kept, so the id it is cached under is never another statement's
    parts: tuple[str, ...]  # the SQL around each expanding parameter (one part when there is none)
    slots: tuple[_Slot, ...]
    columns: tuple[_Processor, ...]
    row: Callable[..., Any] | None  # a named tuple of the result's keys; None when nothing is returned
    driver_error: type[Exception]  # the driver's base exception, wrapped as SQLAlchemy wraps it
    _texts: dict[tuple[int, ...], str]

    @classmethod
    def of(
        cls, statement: Any, dialect: Dialect, column_keys: Sequence[str] | None = None
    ) -> DriverStatement | None:
        """Compile `statement` for `dialect`, or None when running it needs SQLAlchemy's execution.
        `column_keys`: for an INSERT or UPDATE, the parameters it is run with (they name its columns)."""
        if dialect.paramstyle != "qmark":
            return None
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            return None  # Python-side defaults are worked out by SQLAlchemy's execution context
        if compiled.literal_execute_params or compiled.positiontup is None:
            return None
        if not all(bind.expanding for bind in compiled.post_compile_params):
            return None
        defaults = compiled.construct_params(_check=False)
        slots = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            slots.append(_Slot(name, processor, bind.expanding, bind.required, defaults.get(name)))
        expanding = [slot for slot in slots if slot.expanding]
        sql = compiled.string
        parts = tuple(_EXPANDING.split(sql)[::2])
        if len(parts) != len(expanding) + 1 or sql.count("__[POSTCOMPILE_") != len(expanding):
            return None  # an expanding parameter used twice, or rendered otherwise: SQLAlchemy runs it
        returns = bool(statement.is_select or compiled.effective_returning)
        results = compiled._result_columns if returns else []
        columns = tuple(entry.type.dialect_impl(dialect).result_processor(dialect, None) for entry in results)
        row = _row_type([entry.keyname for entry in results]) if returns else None
        return cls(statement, parts, tuple(slots), columns, row, dialect.loaded_dbapi.Error, {})

    def run(self, connection: Any, params: Mapping[str, Any] | None) -> DriverRows | None:
        """Execute on the DBAPI `connection` in its current transaction; rows fetched at once. None: not
        run, as an IN list is empty (SQLAlchemy renders those as an empty set: it runs the statement)."""
        bound = self.bound(params)
        if bound is None:
            return None
        text, values = bound
        cursor = connection.cursor()
        try:
            cursor.execute(text, values)
            if self.row is None:
                return DriverRows([], cursor.rowcount)
            fetched = cursor.fetchall()
            rowcount = cursor.rowcount
        except self.driver_error as error:
            # As SQLAlchemy raises it (IntegrityError, OperationalError, …): callers catch those.
            raise DBAPIError.instance(text, values, error, self.driver_error) from error
        finally:
            cursor.close()
        return DriverRows(self._rows(fetched), rowcount)

    def bound(self, params: Mapping[str, Any] | None) -> tuple[str, list[Any]] | None:
        """The SQL text and the driver's values that `run` executes for `params` (plain values: they can
        be sent to another process, see `run_bound`); None where `run` would not run, an IN list being
        empty."""
        given = params or {}
        values: list[Any] = []
        lengths: list[int] = []
        for slot in self.slots:
            if slot.name in given:
                value = given[slot.name]
            elif slot.required:
                raise ArgumentError(f"a value is required for bind parameter {slot.name!r}")
            else:
                value = slot.default
            if slot.expanding:
                items = list(value)
                if not items:
                    return None
                lengths.append(len(items))
                values.extend(items if slot.processor is None else map(slot.processor, items))
            else:
                values.append(value if slot.processor is None else slot.processor(value))
        return self._text(tuple(lengths)), values

    def _text(self, lengths: tuple[int, ...]) -> str:
        if not lengths:
            return self.parts[0]
        text = self._texts.get(lengths)
        if text is None:
            pieces = [self.parts[0]]
            for length, part in zip(lengths, self.parts[1:], strict=True):
                pieces.append("(" + ", ".join("?" * length) + ")")
                pieces.append(part)
            text = self._texts[lengths] = "".join(pieces)
        return text

    def _rows(self, fetched: Sequence[Any]) -> list[Any]:
        make = self.row
        assert make is not None
        if not any(self.columns):
            return [make(*values) for values in fetched]
        columns = self.columns
        return [
            make(*[v if p is None else p(v) for p, v in zip(columns, values, strict=True)])
            for values in fetched
        ]


def run_bound(statements: Sequence[tuple[str, Sequence[Any]]], connection: Any) -> list[int]:
    """Run statements bound by `DriverStatement.bound` on a DBAPI `connection`, in its transaction, in
    order: the number of rows each changed. (Module-level, so that a writer process can be sent it.)"""
    counts = []
    cursor = connection.cursor()
    try:
        for text, values in statements:
            cursor.execute(text, values)
            counts.append(cursor.rowcount)
    finally:
        cursor.close()
    return counts


def _row_type(keys: Sequence[str]) -> Callable[..., Any]:
    """Rows with SQLAlchemy's keys: by position, unpacking and attribute, as its `Row` is used here."""
    return collections.namedtuple("Row", keys, rename=True)
