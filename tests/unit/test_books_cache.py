"""Unit tests (data orchestrators): the in-process cache of what is derived from a business's books."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from runway.services.data_orchestrators.books_cache import BooksCache


@dataclass(frozen=True, slots=True)
class _Row:
    number: int


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: BooksCache[str] = BooksCache(size=2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # now "b" is the least recently used
    cache.put("c", "C")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("A", None, "C")


def test_large_values_are_kept_out_of_full_collections() -> None:
    cache: BooksCache[tuple[_Row, ...]] = BooksCache(size=1, out_of_gc=True)
    rows = tuple(_Row(n) for n in range(20_000))
    try:
        before = gc.get_freeze_count()
        cache.put("books", rows)
        # Full collections no longer walk the cached rows (and whatever else was alive then).
        assert gc.get_freeze_count() >= before + len(rows)
        assert not any(obj is rows[0] for obj in gc.get_objects())
        cache.put("newer books", ())
        assert cache.get("books") is None
    finally:
        gc.unfreeze()
