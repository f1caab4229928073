"""Test support: throwaway databases, personas and a live server for the test suite."""

import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def in_fresh_thread(function: Callable[..., T], *args: Any) -> T:
    """Run blocking code that starts its own event loop, even when this thread already runs one.

    Playwright's sync API keeps a loop running in the main thread, so asyncio.run() cannot be used there.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()
