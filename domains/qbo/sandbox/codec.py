"""Domain (QBO sandbox): JSON and timestamp codecs, keeping QBO money exact as Decimal both ways.

QBO money is a JSON number (`200.0`). Both ways go through msgspec: reading makes every non-integer number
a Decimal (`float_hook`), writing emits a Decimal as a bare JSON number (the standard library can only
quote it or turn it into a float).
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

log = logging.getLogger(__name__)

_ENCODER = msgspec.json.Encoder(decimal_format="number")
# Each query page decodes every stored document it returns: msgspec does that several times faster than the
# standard library's parser with `parse_float`.
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def loads(data: bytes | str) -> Any:
    """Parse JSON with every non-integer number as an exact Decimal. Malformed JSON (NaN and Infinity
    included, which are not JSON) raises `ValueError`."""
    return _DECODER.decode(data)


def dumps(value: Any) -> bytes:
    """Serialise to compact JSON bytes; Decimal values come out as JSON numbers."""
    return _ENCODER.encode(value)


def to_decimal(value: Any) -> Decimal | None:
    """An amount as Decimal (from int, Decimal or a numeric string), or None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            return None
        return parsed if parsed.is_finite() else None
    return None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def load_zone(name: str) -> dt.tzinfo:
    """The company time zone; UTC when the host has no tz database (only the offsets differ)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("time zone %s not available; using UTC", name)
        return dt.UTC


def entity_timestamp(moment: dt.datetime, tz: dt.tzinfo) -> str:
    """`MetaData` style: second precision with the company's local offset, e.g. 2015-07-14T12:34:04-07:00."""
    return moment.astimezone(tz).replace(microsecond=0).isoformat()


def response_time(moment: dt.datetime, tz: dt.tzinfo) -> str:
    """The envelope `time`: millisecond precision with the local offset."""
    return moment.astimezone(tz).isoformat(timespec="milliseconds")


def utc_key(moment: dt.datetime) -> str:
    """A fixed-width UTC string that sorts like the instant it names (stored beside each document)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str, tz: dt.tzinfo) -> dt.datetime | None:
    """An ISO date or date-time; a value without an offset is read in the company's zone."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value


def parse_date(text: Any) -> dt.date | None:
    if not isinstance(text, str):
        return None
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None
