"""Domain core: in-process locks per business, one set per event loop.

For work that must not run twice at once for one business in this process (a keypress's turn, bringing a
register up to date); other processes are kept apart by the database itself.
"""

from __future__ import annotations

import asyncio
import weakref


class BusinessLocks:
    """An `asyncio.Lock` per business id, created on first use, for the running event loop (a lock belongs
    to the loop it is first awaited on; tests and CLI commands run several loops one after another)."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Lock]] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, business_id: int) -> asyncio.Lock:
        locks = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault(business_id, asyncio.Lock())
