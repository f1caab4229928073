"""Web layer: globals and filters every template may use (formatting only; templates never compute)."""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment

from app.settings import REPO_ROOT
from domains.core.money import Money, format_money

STATIC_ROOT = REPO_ROOT / "static"


@lru_cache(maxsize=256)
def _static_version(path: str) -> str:
    file = STATIC_ROOT / path
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()[:10]
    except OSError:
        return "missing"


def static_url(path: str) -> str:
    """URL of a file under static/, with a content hash so browsers may cache it for long."""
    clean = Path(path).as_posix().lstrip("/")
    return f"/static/{clean}?v={_static_version(clean)}"


def money(cents: int | Money | None, currency: str = "USD", *, whole: bool = False) -> str:
    if cents is None:
        return "—"
    amount = cents if isinstance(cents, Money) else Money(int(cents), currency)
    return format_money(amount, show_cents=not whole)


def day(value: dt.date | dt.datetime | None, fmt: str = "%-d %b %Y") -> str:
    if value is None:
        return "—"
    return value.strftime(fmt)


def install(env: Environment) -> None:
    env.globals.update(static_url=static_url, money=money)
    env.filters.update(money=money, day=day)
