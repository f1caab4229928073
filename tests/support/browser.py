"""Test support for browser journeys: waiting until a page's keyboard layer listens."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect


def keys_ready(page: Any) -> None:
    """Wait until the page's deferred keyboard script has run: keys pressed before that are lost."""
    expect(page.locator("html[data-keys='ready']")).to_have_count(1)
