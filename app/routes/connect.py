"""Web layer: Connect QuickBooks (onboarding) screens (routes are added by the feature's work)."""

from __future__ import annotations

from typing import Any

from litestar.di import Provide

ROUTES: list[Any] = []
DEPENDENCIES: dict[str, Provide] = {}
