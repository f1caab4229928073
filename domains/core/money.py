"""Domain value type: Money as integer minor units plus an ISO 4217 currency code.

Floats never enter: amounts arrive as int cents, or as Decimal/str at the edges (QBO JSON) and are
rounded half away from zero to the cent. Arithmetic across currencies raises instead of summing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Amounts are stored as signed 64-bit integers (BIGINT); anything larger cannot be stored.
MAX_CENTS = 2**63 - 1


class CurrencyMismatchError(ValueError):
    """Two amounts in different currencies met in arithmetic or comparison."""


def _check_currency(code: str) -> str:
    if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
        raise ValueError(f"currency must be a 3-letter ISO code, got {code!r}")
    return code


def decimal_to_cents(value: Decimal | int | str) -> int:
    """Round a major-unit amount (e.g. Decimal('12.345')) to integer cents, half away from zero."""
    if type(value) is Decimal and value.is_finite():
        # Already whole cents, as nearly every amount is: nothing to round. The same product as below
        # (rounded in the same context), taken as it is when it is a whole number a BIGINT holds; the
        # magnitude test first keeps a hostile exponent from building a huge int.
        scaled = value * 100
        if scaled.adjusted() < 19:
            cents = int(scaled)
            if cents == scaled and -MAX_CENTS <= cents <= MAX_CENTS:
                return cents
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, float):
        raise TypeError("floats are not accepted for money; parse JSON with parse_float=Decimal")
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    try:
        cents = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation as exc:  # more digits than the decimal context holds
        raise ValueError(f"amount out of range: {value!r}") from exc
    if not -MAX_CENTS <= cents <= MAX_CENTS:
        raise ValueError(f"amount out of range: {value!r}")
    return cents


def cents_to_decimal(cents: int) -> Decimal:
    """Integer cents as a Decimal in major units, for writing QBO JSON (e.g. 1050 -> Decimal('10.50'))."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount: `cents` minor units of `currency`."""

    cents: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.cents, bool) or not isinstance(self.cents, int):
            raise TypeError(f"Money.cents must be an int, got {type(self.cents).__name__}")
        _check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal | int | str, currency: str) -> Money:
        """Build from a major-unit amount, rounding half away from zero to the cent."""
        return cls(decimal_to_cents(value), currency)

    @classmethod
    def sum(cls, amounts: Iterable[Money], currency: str) -> Money:
        """Sum amounts that must all be in `currency` (an empty iterable gives zero)."""
        total = cls.zero(currency)
        for amount in amounts:
            total = total + amount
        return total

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.cents + self._same(other).cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.cents - self._same(other).cents, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.cents, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.cents), self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money can only be multiplied by an int; convert rates explicitly")
        return Money(self.cents * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.cents < self._same(other).cents

    def __le__(self, other: Money) -> bool:
        return self.cents <= self._same(other).cents

    def __gt__(self, other: Money) -> bool:
        return self.cents > self._same(other).cents

    def __ge__(self, other: Money) -> bool:
        return self.cents >= self._same(other).cents

    def __bool__(self) -> bool:
        return self.cents != 0

    def convert(self, rate: Decimal | str, to_currency: str) -> Money:
        """Convert at `rate` units of `to_currency` per unit of this one, rounding half away from zero."""
        rate_d = Decimal(rate) if not isinstance(rate, Decimal) else rate
        if not rate_d.is_finite() or rate_d <= 0:
            raise ValueError(f"exchange rate must be positive, got {rate!r}")
        converted = (Decimal(self.cents) * rate_d).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return Money(int(converted), _check_currency(to_currency))

    def to_decimal(self) -> Decimal:
        return cents_to_decimal(self.cents)

    def __str__(self) -> str:
        return format_money(self)


_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "GBP": "£", "EUR": "€", "NZD": "NZ$"}


def format_money(money: Money, *, show_cents: bool = True) -> str:
    """Human formatting for screens: '-$1,234.50'. Formatting is separate from arithmetic on purpose."""
    sign = "-" if money.cents < 0 else ""
    whole, cents = divmod(abs(money.cents), 100)
    symbol = _SYMBOLS.get(money.currency)
    number = f"{whole:,}.{cents:02d}" if show_cents else f"{whole + (1 if cents >= 50 else 0):,}"
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {money.currency}"
