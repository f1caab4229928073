"""Data orchestrator (shared): a small in-process cache of what is derived from a business's books.

Entries are keyed by the business's data-version stamp (`domains.core.data_versions`), which every finished
sync and every QBO write replaces and which callers read from the database on each request: an entry is
never served after the books changed, in any app instance. Nothing here is state; losing it costs time only.
"""

from __future__ import annotations

import collections
import contextlib
import gc
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable
from typing import Generic, TypeVar

from domains.core import foreground

V = TypeVar("V")


class BooksCache(Generic[V]):
    """A least-recently-used map with a fixed number of entries (derived values are large: snapshots).

    `out_of_gc`: the values are large, long-lived and free of reference cycles (a business's snapshot,
    forecast, queue). Storing one moves everything alive into the collector's permanent generation
    (`gc.freeze`, which takes constant time), so that full collections stop walking them: with a
    40,000-entity business in memory one took 160 ms, a pause in the middle of whatever request it hit.
    An evicted value is still freed by reference counting; only cyclic garbage alive at that moment
    would stay, and this happens once per change of a business's books.
    """

    def __init__(self, size: int, *, out_of_gc: bool = False) -> None:
        self.size = size
        self.out_of_gc = out_of_gc
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        # Pure work after a sync fills some of these caches from a thread (`in_background_thread`).
        self._lock = foreground.SharedLock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def used_last_first(self) -> list[Hashable]:
        """The keys held, the one used last first."""
        with self._lock:
            return list(reversed(self._entries))

    def put(self, key: Hashable, value: V) -> V:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        if self.out_of_gc:
            gc.freeze()
        return value


# Businesses whose derived state is being worked out again after a sync (see `refreshing`).
_REFRESHING: collections.Counter[int] = collections.Counter()


@contextlib.asynccontextmanager
async def refreshing(business_id: int) -> AsyncIterator[None]:
    """Around the refresh after a sync, which reads the new books and works out what depends on them:
    meanwhile screens may show the books as they were just before (`is_refreshing`) instead of each
    working them out too, in the middle of a request."""
    _REFRESHING[business_id] += 1
    try:
        yield
    finally:
        _REFRESHING[business_id] -= 1
        if _REFRESHING[business_id] <= 0:
            del _REFRESHING[business_id]


def is_refreshing(business_id: int) -> bool:
    return _REFRESHING[business_id] > 0  # a Counter answers 0 for a business it does not hold
