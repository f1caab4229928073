"""Unit: Money is exact integer cents, refuses floats and never mixes currencies."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.core.money import CurrencyMismatchError, Money, cents_to_decimal, decimal_to_cents, format_money

cents = st.integers(min_value=-(10**15), max_value=10**15)


def test_it_adds_and_subtracts_in_one_currency():
    assert Money(1050, "USD") + Money(-50, "USD") == Money(1000, "USD")
    assert Money(1050, "USD") - Money(2000, "USD") == Money(-950, "USD")
    assert -Money(5, "CAD") == Money(-5, "CAD")


def test_it_refuses_to_mix_currencies():
    with pytest.raises(CurrencyMismatchError):
        Money(100, "USD") + Money(100, "CAD")
    with pytest.raises(CurrencyMismatchError):
        _ = Money(100, "USD") < Money(100, "EUR")


def test_it_refuses_floats_and_bools():
    with pytest.raises(TypeError):
        Money(10.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "USD")
    with pytest.raises(TypeError):
        decimal_to_cents(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(100, "USD") * 1.5  # type: ignore[operator]


def test_it_rejects_bad_currency_codes():
    for code in ("usd", "US", "DOLLAR", ""):
        with pytest.raises(ValueError, match="3-letter"):
            Money(1, code)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("0.005", 1), ("-0.005", -1), ("0.004", 0), ("1241.675", 124168), ("103.55", 10355), ("200", 20000)],
)
def test_it_rounds_half_away_from_zero(amount, expected):
    assert decimal_to_cents(Decimal(amount)) == expected
    assert decimal_to_cents(amount) == expected


def test_it_rejects_non_numbers():
    for bad in ("abc", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            decimal_to_cents(bad)


def test_it_converts_with_an_exchange_rate_rounding_half_away_from_zero():
    assert Money(1000, "CAD").convert(Decimal("0.7345"), "USD") == Money(735, "USD")
    assert Money(-1000, "CAD").convert("0.7345", "USD") == Money(-735, "USD")
    with pytest.raises(ValueError):
        Money(1, "CAD").convert("0", "USD")


def test_it_formats_for_people():
    assert format_money(Money(123450, "USD")) == "$1,234.50"
    assert format_money(Money(-5, "USD")) == "-$0.05"
    assert format_money(Money(99, "JPY")) == "0.99 JPY"
    assert format_money(Money(123450, "USD"), show_cents=False) == "$1,235"


@given(cents, cents)
def test_addition_is_exact_and_commutative(a, b):
    assert Money(a, "USD") + Money(b, "USD") == Money(b, "USD") + Money(a, "USD") == Money(a + b, "USD")


@given(cents)
def test_decimal_round_trip_is_lossless(value):
    assert decimal_to_cents(cents_to_decimal(value)) == value


@given(st.lists(cents, max_size=30))
def test_sum_equals_integer_sum(values):
    assert Money.sum((Money(v, "USD") for v in values), "USD").cents == sum(values)


def _rounded_cents(amount: Decimal) -> int | None:
    """Cents the long way (the product rounded half away from zero to a whole number); None when a BIGINT
    cannot hold them or the decimal context cannot quantize them."""
    try:
        result = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return None
    return result if -(2**63 - 1) <= result <= 2**63 - 1 else None


@given(
    st.decimals(allow_nan=False, allow_infinity=False)
    | st.builds(Decimal, st.from_regex(r"-?\d{1,20}\.\d{0,3}", fullmatch=True))
    | st.builds(lambda c, e: Decimal(c).scaleb(e), st.integers(-(10**30), 10**30), st.integers(-40, 40))
)
def test_whole_cent_amounts_take_the_same_cents_as_rounding(amount):
    # Whole-cent amounts skip the rounding; every amount must still come out as rounding gives it, or be
    # refused when out of range.
    expected = _rounded_cents(amount)
    if expected is None:
        with pytest.raises(ValueError, match="out of range"):
            decimal_to_cents(amount)
    else:
        assert decimal_to_cents(amount) == expected
