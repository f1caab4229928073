"""Data orchestrator (shared): a small in-process cache of what is derived from a business's books.

Entries are keyed by the business's data-version stamp (`domains.core.data_versions`), which every finished
sync and every QBO write replaces and which callers read from the database on each request: an entry is
never served after the books changed, in any app instance. Nothing here is state; losing it costs time only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class BooksCache(Generic[V]):
    """A least-recently-used map with a fixed number of entries (derived values are large: snapshots)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> V:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value
