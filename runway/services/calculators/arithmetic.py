"""Calculator: exact integer arithmetic shared by every calculator (half-away rounding, QBO Id order).

PRODUCT §3 rounds every division half away from zero and compares QBO Ids as integers. Both are done
here once, on integers and Decimals only, so no calculator ever reaches for a float.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

ONE_DECIMAL = Decimal("0.1")


def div_round_half_away(numerator: int, denominator: int) -> int:
    """Divide two integers and round the quotient half away from zero.

    Args:
        numerator: Any integer (cents, days...).
        denominator: A non-zero integer.

    Returns:
        The nearest integer to numerator / denominator; exact halves move away from zero.
    """
    if denominator == 0:
        raise ZeroDivisionError("division by zero")
    negative = (numerator < 0) != (denominator < 0)
    quotient, remainder = divmod(abs(numerator), abs(denominator))
    if 2 * remainder >= abs(denominator):
        quotient += 1
    return -quotient if negative else quotient


def days_to_weeks(days: int) -> Decimal:
    """Runway weeks: days ÷ 7 rounded to one decimal, half away from zero (Decimal, never float)."""
    return (Decimal(days) / Decimal(7)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def qbo_id_key(qbo_id: str) -> tuple[int, int, str]:
    """Sort key comparing QBO Ids as integers.

    QBO Ids are numeric strings; a non-numeric Id (seen only in hand-made data) sorts after every
    numeric one, by its text, so ordering stays total and deterministic.
    """
    text = qbo_id.strip()
    if text.isdigit():
        return (0, int(text), "")
    return (1, 0, text)


def monday_of(day: dt.date) -> dt.date:
    """The Monday of the Monday-Sunday week containing `day`."""
    return day - dt.timedelta(days=day.weekday())
