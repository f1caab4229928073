"""Domain (QBO): client-side per-realm request limits — 10/s and 500/min, and a 60 s pause after a 429."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from domains.qbo.clock import Clock

PER_SECOND = 10
PER_MINUTE = 500
THROTTLE_PAUSE_SECONDS = 60.0
# Slack so a request never lands on the edge of QBO's own window: QBO counts requests when they reach it,
# and network and server delays bunch requests we sent evenly (a 20 ms margin drew 429s at full speed).
_MARGIN = 0.1


@dataclass
class _RealmWindow:
    recent: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class RealmThrottle:
    """Spaces requests so a realm never sees more than QBO allows from this process.

    Sliding windows over the monotonic clock: a request waits until fewer than `per_second` requests
    started in the last second and fewer than `per_minute` in the last minute, and at least a
    `per_second`-th of a second (plus the margin) after the previous one. After QBO answers 429
    the realm is paused for 60 s (or the Retry-After it sent), which keeps a 429 from becoming a storm.
    """

    def __init__(self, clock: Clock, *, per_second: int = PER_SECOND, per_minute: int = PER_MINUTE) -> None:
        self.clock = clock
        self.per_second = per_second
        self.per_minute = per_minute
        self._realms: dict[str, _RealmWindow] = {}

    def _window(self, realm_id: str) -> _RealmWindow:
        window = self._realms.get(realm_id)
        if window is None:
            window = self._realms[realm_id] = _RealmWindow()
        return window

    async def acquire(self, realm_id: str) -> None:
        window = self._window(realm_id)
        async with window.lock:
            while True:
                now = self.clock.monotonic()
                while window.recent and window.recent[0] <= now - 60.0:
                    window.recent.popleft()
                wait = window.blocked_until - now
                if len(window.recent) >= self.per_minute:
                    wait = max(wait, window.recent[0] + 60.0 + _MARGIN - now)
                if len(window.recent) >= self.per_second:
                    wait = max(wait, window.recent[-self.per_second] + 1.0 + _MARGIN - now)
                if window.recent:
                    # Evenly spaced rather than in bursts of `per_second`: a burst arrives bunched.
                    wait = max(wait, window.recent[-1] + (1.0 + _MARGIN) / self.per_second - now)
                if wait <= 0:
                    window.recent.append(now)
                    return
                await self.clock.sleep(wait)

    def throttled(self, realm_id: str, retry_after: float | None = None) -> None:
        """QBO said 429: pause the realm."""
        pause = retry_after if retry_after and retry_after > 0 else THROTTLE_PAUSE_SECONDS
        window = self._window(realm_id)
        window.blocked_until = max(window.blocked_until, self.clock.monotonic() + pause)
