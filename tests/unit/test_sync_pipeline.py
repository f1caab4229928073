"""Unit: the full sync's page pipeline — commit order, no request past an entity's end, bounded memory."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from domains.qbo.smart_sync import (
    MAX_IN_FLIGHT,
    PAGE_SIZE,
    PREFETCH_PAGES,
    _PagePipeline,
)

pytestmark = pytest.mark.anyio

# Objects per entity in the fake company: Vendor is the only name list here.
SIZES = {"Vendor": 2 * PAGE_SIZE + 5, "Bill": 6 * PAGE_SIZE + 1, "Invoice": 9 * PAGE_SIZE, "Payment": 3}


class FakeQbo:
    def __init__(self, sizes: dict[str, int] = SIZES) -> None:
        self.sizes = sizes
        self.requested: list[tuple[str, int]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def fetch(self, entity: str, position: int) -> list[dict[str, Any]]:
        self.requested.append((entity, position))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1
        count = max(0, min(PAGE_SIZE, self.sizes[entity] - position + 1))
        return [{"Id": str(position + i)} for i in range(count)]


def _held(pipeline: _PagePipeline) -> int:
    return sum(len(pages) for pages in pipeline._held.values())


async def test_pages_come_in_order_name_lists_first_and_none_past_the_end() -> None:
    qbo = FakeQbo()
    pipeline = _PagePipeline(
        qbo.fetch,
        [(entity, 1) for entity in SIZES],
        groups=(frozenset({"Vendor"}), frozenset({"Bill", "Invoice", "Payment"})),
    )
    handed: list[tuple[str, int, int]] = []
    done: set[str] = set()
    most_held = 0
    try:
        while len(done) < len(SIZES):
            # Let every fetch that can run, run, as if committing took a long time.
            for _ in range(20):
                await asyncio.sleep(0)
                most_held = max(most_held, _held(pipeline))
            entity, position, objects = await pipeline.next_page()
            handed.append((entity, position, len(objects)))
            if len(objects) < PAGE_SIZE:
                done.add(entity)
                pipeline.finished(entity)
    finally:
        await pipeline.aclose()

    vendor_pages = [h for h in handed if h[0] == "Vendor"]
    assert handed[: len(vendor_pages)] == vendor_pages, "the name list is committed before any transaction"
    for entity, size in SIZES.items():
        positions = [position for name, position, _count in handed if name == entity]
        expected = (
            list(range(1, size + 2, PAGE_SIZE))
            if size % PAGE_SIZE == 0
            else list(range(1, size + 1, PAGE_SIZE))
        )
        assert positions == expected, f"{entity}: every page once, in order"
        assert sum(count for name, _position, count in handed if name == entity) == size
    assert sorted(qbo.requested) == sorted((name, position) for name, position, _count in handed), (
        "no request past an entity's end"
    )
    assert most_held <= PREFETCH_PAGES + 1, "fetched pages do not pile up while commits are slow"
    assert qbo.most_in_flight <= MAX_IN_FLIGHT


async def test_entities_under_way_continue_before_first_pages_go_out() -> None:
    """The long chains of pages are what a sync waits for; one-page entities fill in as they end."""
    sizes = {"Vendor": 10, "Bill": 3 * PAGE_SIZE + 1, "Invoice": 3 * PAGE_SIZE + 1}
    sizes |= {name: 5 for name in ("Purchase", "Deposit", "SalesReceipt", "VendorCredit", "CreditMemo")}
    qbo = FakeQbo(sizes)
    pipeline = _PagePipeline(
        qbo.fetch,
        [(entity, 1) for entity in sizes],
        groups=(frozenset({"Vendor"}), frozenset(sizes) - {"Vendor"}),
    )
    done: set[str] = set()
    try:
        while len(done) < len(sizes):
            entity, _position, objects = await pipeline.next_page()
            if len(objects) < PAGE_SIZE:
                done.add(entity)
                pipeline.finished(entity)
    finally:
        await pipeline.aclose()
    assert qbo.most_in_flight <= MAX_IN_FLIGHT
    first_pages_late = [qbo.requested.index((name, 1)) for name in ("VendorCredit", "CreditMemo")]
    assert min(first_pages_late) > qbo.requested.index(("Bill", 1 + PAGE_SIZE))
    assert sorted(qbo.requested) == sorted(
        (name, position) for name, size in sizes.items() for position in range(1, size + 1, PAGE_SIZE)
    )


async def test_a_failed_page_surfaces_when_its_turn_comes() -> None:
    async def fetch(entity: str, position: int) -> list[dict[str, Any]]:
        await asyncio.sleep(0)
        if entity == "Bill":
            raise RuntimeError("QBO is down")
        return []

    pipeline = _PagePipeline(
        fetch, [("Vendor", 1), ("Bill", 1)], groups=(frozenset({"Vendor"}), frozenset({"Bill"}))
    )
    try:
        assert (await pipeline.next_page())[0] == "Vendor"
        pipeline.finished("Vendor")
        with pytest.raises(RuntimeError, match="QBO is down"):
            await pipeline.next_page()
    finally:
        await pipeline.aclose()
