"""Unit tests (domain synced upsert): its SQLite value conversions store what SQLAlchemy stores."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Date
from sqlalchemy.dialects import sqlite

from domains.core.db import UTCDateTime
from domains.synced import sqlite_text_processor

DIALECT = sqlite.dialect()


def sqlalchemy_processor(column_type: object) -> object:
    process = column_type.dialect_impl(DIALECT).bind_processor(DIALECT)  # type: ignore[attr-defined]
    if isinstance(column_type, UTCDateTime):
        impl = process

        def through_decorator(value: object) -> object:
            return impl(column_type.process_bind_param(value, DIALECT))  # type: ignore[misc,operator]

        return through_decorator
    return process


@given(st.datetimes(timezones=st.timezones()))
def test_utc_datetimes_are_stored_as_sqlalchemy_stores_them(value: dt.datetime) -> None:
    fast = sqlite_text_processor(UTCDateTime(), DIALECT)
    assert fast is not None
    assert fast(value) == sqlalchemy_processor(UTCDateTime())(value)  # type: ignore[operator]


@given(st.one_of(st.dates(), st.datetimes()))
def test_dates_are_stored_as_sqlalchemy_stores_them(value: dt.date) -> None:
    fast = sqlite_text_processor(Date(), DIALECT)
    assert fast is not None
    assert fast(value) == sqlalchemy_processor(Date())(value)  # type: ignore[operator]


def test_none_and_naive_datetimes() -> None:
    fast = sqlite_text_processor(UTCDateTime(), DIALECT)
    assert fast is not None
    assert fast(None) is None
    with pytest.raises(ValueError, match="naive"):
        fast(dt.datetime(2026, 11, 27, 12, 0))


def test_other_types_keep_sqlalchemys_processor() -> None:
    from sqlalchemy import Boolean, String

    assert sqlite_text_processor(String(), DIALECT) is None
    assert sqlite_text_processor(Boolean(), DIALECT) is None
