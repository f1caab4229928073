"""Domain (QBO sandbox): fault injection per company — QBO's rate limits, 503s, latency and timeouts.

The rate limiter keeps a sliding one-second and sixty-second window of admitted calls per company on an
injectable monotonic clock, so tests can step time instead of sleeping. Refused calls do not count.
"""

from __future__ import annotations

import dataclasses
import random
from collections import deque
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from domains.qbo.sandbox.config import FaultProfile

_INT_FIELDS = (
    "requests_per_minute",
    "requests_per_second",
    "batch_requests_per_minute",
    "latency_ms",
    "query_latency_ms",
    "timeouts",
    "timeout_ms",
)
_BOOL_FIELDS = ("rate_limits", "timeout_after_commit")


def _checked(name: str, value: Any) -> Any:
    if name in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0")
        return value
    if name == "unavailable_rate":
        if isinstance(value, bool):
            raise ValueError("unavailable_rate must be a number between 0 and 1")
        try:
            rate = Decimal(str(value)) if not isinstance(value, Decimal) else value
        except InvalidOperation as exc:
            raise ValueError("unavailable_rate must be a number between 0 and 1") from exc
        if not (rate.is_finite() and 0 <= rate <= 1):
            raise ValueError("unavailable_rate must be a number between 0 and 1")
        return rate
    raise ValueError(f"unknown fault setting {name}")


class FaultInjector:
    """Per-company fault profiles and the state they need (windows, random generators, timeout counters)."""

    def __init__(self, default: FaultProfile, *, seed: int, monotonic: Callable[[], float]) -> None:
        self.default = default
        self.seed = seed
        self.monotonic = monotonic
        self._profiles: dict[str, FaultProfile] = {}
        self._random: dict[str, random.Random] = {}
        self._calls: dict[str, deque[float]] = {}
        self._batches: dict[str, deque[float]] = {}

    def profile(self, realm_id: str) -> FaultProfile:
        """The company's profile (the default until something is configured for it); treat it as read-only."""
        return self._profiles.get(realm_id, self.default)

    def configure(self, realm_id: str, **changes: Any) -> FaultProfile:
        """Change some settings of a company's profile (unknown names or bad values raise ValueError)."""
        checked = {name: _checked(name, value) for name, value in changes.items()}
        profile = dataclasses.replace(self.profile(realm_id), **checked)
        self._profiles[realm_id] = profile
        return profile

    def reset(self, realm_id: str | None = None) -> None:
        """Back to the default profile, with fresh windows and random generators (one company or all)."""
        for store in (self._profiles, self._random, self._calls, self._batches):
            if realm_id is None:
                store.clear()
            else:
                store.pop(realm_id, None)

    def admit(self, realm_id: str, *, batch: bool = False) -> bool:
        """Count a call against the limits; False means answer 429."""
        profile = self.profile(realm_id)
        if not profile.rate_limits:
            return True
        now = self.monotonic()
        calls = self._calls.setdefault(realm_id, deque())
        while calls and calls[0] <= now - 60:
            calls.popleft()
        last_second = 0
        for moment in reversed(calls):
            if moment <= now - 1:
                break
            last_second += 1
        if last_second >= profile.requests_per_second or len(calls) >= profile.requests_per_minute:
            return False
        if batch:
            batches = self._batches.setdefault(realm_id, deque())
            while batches and batches[0] <= now - 60:
                batches.popleft()
            if len(batches) >= profile.batch_requests_per_minute:
                return False
            batches.append(now)
        calls.append(now)
        return True

    def unavailable(self, realm_id: str) -> bool:
        """Whether this call gets a 503; the same seed gives the same sequence for a company."""
        rate = self.profile(realm_id).unavailable_rate
        if rate <= 0:
            return False
        generator = self._random.setdefault(realm_id, random.Random(f"{self.seed}:{realm_id}"))
        return Decimal(generator.random()) < rate

    def take_timeout(self, realm_id: str) -> bool:
        """Whether this call hangs, using up one of the profile's pending timeouts."""
        profile = self.profile(realm_id)
        if profile.timeouts <= 0:
            return False
        self._profiles[realm_id] = dataclasses.replace(profile, timeouts=profile.timeouts - 1)
        return True


def profile_json(profile: FaultProfile) -> dict[str, Any]:
    return dataclasses.asdict(profile)
