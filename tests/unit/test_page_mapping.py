"""Unit: a full sync's pages mapped and prepared for the database, here in turns or in the mapping process."""

from __future__ import annotations

import asyncio
import os
import signal
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import create_async_engine

from domains.ap.models import Bill
from domains.core.db import Database
from domains.qbo import page_mapping
from domains.qbo.client import encode_body, split_query_page
from domains.qbo.page_mapping import (
    PROCESS_MIN_OBJECTS,
    MappedPage,
    PageMapper,
    map_page,
    map_page_in_turns,
    start_mapping_process,
)
from domains.synced import prepare_rows
from tests.support.qbo import bill

pytestmark = pytest.mark.anyio

META = {"CreateTime": "2026-09-01T10:00:00-07:00", "LastUpdatedTime": "2026-09-02T10:00:00-07:00"}


def _bill(qbo_id: str, amount: str, token: str = "0", **extra: Any) -> dict[str, Any]:
    return bill(qbo_id, "1", amount, "2026-09-01", "2026-10-01", SyncToken=token, MetaData=META, **extra)


def _items(objects: list[dict[str, Any]]) -> list[Any]:
    body = encode_body({"QueryResponse": {"Bill": objects, "startPosition": 1, "maxResults": len(objects)}})
    items = split_query_page(body, "Bill")
    assert items is not None
    return items


def _messy_page() -> list[Any]:
    """A full page as real books send it: most bills usual, some odd, one malformed, one deleted, an Id
    twice (the later one newer), and text that is not ASCII."""
    objects = [_bill(str(i), f"{i}.25") for i in range(1, PROCESS_MIN_OBJECTS + 300)]
    objects[10] = _bill("11", "12.00", PrivateNote="Lieferant: Müller & Söhne — «Zahlung» 💸")
    objects[20]["TotalAmt"] = "not a number"
    objects[30] = {"Id": "31", "status": "Deleted", "MetaData": META}
    objects[40]["Line"].append({"Id": "2", "Amount": Decimal("3.10"), "DetailType": "Unknown"})
    objects.append(_bill("7", "99.00", token="3"))
    return _items(objects)


def _same(here: MappedPage, there: MappedPage) -> None:
    assert there.count == here.count
    assert there.mapped.seen == here.mapped.seen
    assert there.mapped.deleted == here.mapped.deleted
    assert [(qbo_id, reason) for qbo_id, reason, _obj in there.mapped.failed] == [
        (qbo_id, reason) for qbo_id, reason, _obj in here.mapped.failed
    ]
    assert there.prepared.qbo_ids == here.prepared.qbo_ids
    assert there.prepared.sync_tokens == here.prepared.sync_tokens
    assert there.prepared.records == here.prepared.records
    assert there.prepared.lines == here.prepared.lines
    assert there.prepared.driver is here.prepared.driver
    assert there.prepared.line_driver is here.prepared.line_driver


@pytest.fixture
async def sqlite_dialect(tmp_path: Any) -> Any:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'mapping.db'}")
    yield db.write_engine.dialect
    await db.dispose()


def _postgres_dialect() -> Dialect:
    # What `Database` builds for a PostgreSQL URL; no server is needed to convert values.
    from domains.core.db import json_deserializer, json_serializer

    engine = create_async_engine(
        "postgresql+asyncpg://runway@localhost/runway",
        json_serializer=json_serializer,
        json_deserializer=json_deserializer,
    )
    return engine.dialect


async def test_a_page_mapped_in_turns_keeps_the_newest_of_an_id_sent_twice(sqlite_dialect: Dialect) -> None:
    """Mapped and prepared MAP_TURN objects at a time, a page whose Id comes twice, far apart, ends as
    one batch of the same rows does: one row per Id, the higher SyncToken."""
    objects = [_bill(str(i), "10.00") for i in range(1, 131)]
    objects += [_bill("7", "99.00", token="3"), _bill("9", "55.00")]
    items = _items(objects)

    page = await map_page_in_turns("Bill", items, "USD", sqlite_dialect)

    assert page.count == 132
    assert not page.mapped.failed
    assert not page.mapped.rows
    rows = map_page("Bill", items, "USD")[1].rows
    expected = prepare_rows(sqlite_dialect, Bill, rows)  # one batch
    assert page.prepared.qbo_ids == expected.qbo_ids == [str(i) for i in range(1, 131)]
    assert page.prepared.sync_tokens == expected.sync_tokens
    assert page.prepared.records == expected.records
    assert page.prepared.lines == expected.lines
    assert page.prepared.records[6] != prepare_rows(sqlite_dialect, Bill, rows[6:7]).records[0], "Id 7: newer"


@pytest.mark.parametrize("dialect_of", ["sqlite", "postgresql"])
async def test_the_mapping_process_prepares_exactly_what_mapping_here_does(
    dialect_of: str, sqlite_dialect: Dialect
) -> None:
    dialect = sqlite_dialect if dialect_of == "sqlite" else _postgres_dialect()
    items = _messy_page()

    here = await map_page_in_turns("Bill", items, "USD", dialect)
    await asyncio.to_thread(start_mapping_process)
    there = await PageMapper(dialect)._in_mapping_process(page_mapping._mapping_pool(), "Bill", items, "USD")

    assert there is not None, "the mapping process answered"
    assert [qbo_id for qbo_id, _reason, _obj in here.mapped.failed] == ["21"], "a malformed bill"
    assert here.mapped.deleted == ["31"]
    _same(here, there)
    kept = [value for record in there.prepared.records for value in record if "Müller" in str(value)]
    assert any("Müller & Söhne — «Zahlung» 💸" in str(value) for value in kept), "text kept as sent"


async def test_a_page_is_still_mapped_when_the_mapping_process_dies(
    sqlite_dialect: Dialect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_mapping, "_retry_after", float("-inf"))  # put back after the test
    items = _messy_page()
    mapper = PageMapper(sqlite_dialect)
    await asyncio.to_thread(start_mapping_process)
    pool = page_mapping._mapping_pool()
    first = await mapper.map("Bill", items, "USD")
    assert (
        first.prepared.records
        == (await mapper._in_mapping_process(pool, "Bill", items, "USD")).prepared.records
    )
    for pid in list(pool._processes):  # the mapping process is killed, as the OOM killer would
        os.kill(pid, signal.SIGKILL)

    again = await mapper.map("Bill", items, "USD")  # mapped here: the pool is broken
    later = await mapper.map("Bill", items, "USD")  # here too, for a while
    page_mapping._retry_after = float("-inf")
    await asyncio.to_thread(start_mapping_process)
    after = await mapper.map("Bill", items, "USD")  # in a new mapping process

    _same(first, again)
    _same(first, later)
    _same(first, after)
    assert page_mapping._pool is not None
    assert page_mapping._pool is not pool


async def test_pages_are_mapped_here_while_the_mapping_process_starts(
    sqlite_dialect: Dialect, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync's first pages do not wait for the mapping process to start (about a second)."""
    monkeypatch.setattr(page_mapping, "_pool", None)
    monkeypatch.setattr(page_mapping, "_pool_ready", False)
    items = _messy_page()

    page = await PageMapper(sqlite_dialect).map("Bill", items, "USD")

    started = page_mapping._pool
    assert started is not None, "the mapping process is being started"
    _same(await map_page_in_turns("Bill", items, "USD", sqlite_dialect), page)
    await asyncio.to_thread(start_mapping_process)
    assert page_mapping._pool is started
    assert page_mapping._ready_pool() is started
    started.shutdown()
