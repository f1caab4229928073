"""Unit tests (web layer logging): a logged exception keeps its traceback and leaves local variables out."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog

from app.observability import configure_logging


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield io.StringIO()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()


@pytest.mark.parametrize("json", [False, True])
def test_a_logged_exception_shows_its_traceback_but_not_the_frames_locals(
    captured: io.StringIO, json: bool
) -> None:
    configure_logging("INFO", json=json)
    logging.getLogger().handlers[0].setStream(captured)  # type: ignore[attr-defined]

    def refresh_tokens() -> None:
        access_token = "secret-access-token-1234"  # the value the log must not show
        raise RuntimeError(f"QBO refused the refresh ({len(access_token)} chars)")

    try:
        refresh_tokens()
    except RuntimeError:
        structlog.get_logger("runway.test").exception("refresh failed")
    output = captured.getvalue()
    assert "refresh failed" in output
    assert "QBO refused the refresh" in output
    assert "refresh_tokens" in output, "the traceback names the failing function"
    assert "secret-access-token-1234" not in output, "locals stay out of the log"
