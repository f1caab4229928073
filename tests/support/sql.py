"""Test support: which SQL statements SQLAlchemy itself executed on the quick connections."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from domains.core.db import Database


@contextmanager
def statements_through_sqlalchemy(db: Database) -> Iterator[list[str]]:
    """Collect the SQL that SQLAlchemy's execution ran on `db`'s quick engines (the statements run on the
    driver by `domains.core.driver_statements` do not pass there)."""
    engines = [engine for engine in (db.quick_engine, db.quick_write_engine) if engine is not None]
    assert engines, "a SQLite file database has quick engines"
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
